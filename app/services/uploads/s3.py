"""Stored files in an S3-compatible object store (``STORAGE_BACKEND = "s3"``), through boto3.

Evidence goes under ``<prefix>evidence/<digest>``, import uploads under ``<prefix>imports/<name>``.
An object is written before the transaction that points to it commits (so no row ever points
to a missing object); a rollback may leave one nothing points to, which the daily purge removes
once it is older than the grace period (``uploads.orphans``).
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from app.services.uploads.backends import is_digest

EVIDENCE = "evidence/"
MISSING = ("404", "NoSuchKey", "NotFound")


def make_client(config: dict):
    """A client from the STORAGE_S3_ settings; the credentials, when not configured, come from
    boto3's own chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an instance role)."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config.get("STORAGE_S3_ENDPOINT_URL") or None,
        region_name=config.get("STORAGE_S3_REGION") or None,
        aws_access_key_id=config.get("STORAGE_S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("STORAGE_S3_SECRET_ACCESS_KEY") or None,
        config=BotoConfig(
            s3={"addressing_style": config.get("STORAGE_S3_ADDRESSING_STYLE") or "auto"},
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in MISSING


class S3Backend:
    name = "s3"
    shared = True

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def object_key(self, key: str) -> str:
        return f"{self.prefix}{EVIDENCE}{key}" if is_digest(key) else f"{self.prefix}{key}"

    def _key(self, object_key: str) -> str:
        key = object_key[len(self.prefix):]
        return key[len(EVIDENCE):] if key.startswith(EVIDENCE) else key

    def put(self, key: str, data: bytes) -> None:
        # Always written, even when the object exists: one request either way, and it makes the
        # object young again (its Last-Modified), which the orphan purge reads.
        self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=data)

    def put_file(self, key: str, path: Path) -> None:
        with open(path, "rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=body)

    def read(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        with answer["Body"] as body:
            return body.read()

    def source(self, key: str) -> io.BytesIO | None:
        # Read whole (evidence is at most 10 MB): the answer gets its length, ranges and ETag.
        data = self.read(key)
        return None if data is None else io.BytesIO(data)

    def fetch_to(self, key: str, path: Path) -> bool:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, self.object_key(key), str(path))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def delete(self, key: str, written_before: datetime | None = None) -> bool:
        # DELETE answers 204 whether or not the object was there: ask first, for the count.
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        if written_before and head["LastModified"] >= written_before:
            return False  # stored again meanwhile
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
        return True

    def entries(self) -> Iterator[tuple[str, datetime]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                yield self._key(item["Key"]), item["LastModified"]
