"""Uploaded files (evidence, identity documents, queued imports): type sniffed from the content,
stored outside the web root under a hash, in the storage every host shares (docs/storage.md).

Below every service package: cases, bindings and record imports all store files here.
``STORAGE_BACKEND`` chooses where: ``local`` (UPLOAD_DIR, the one-machine demo), ``database``
(``stored_blob``, in the transaction of the row that points to the file) or ``s3`` (an
S3-compatible object store). Either way a row never points to a missing file: the database
writes both at once; the others write the file first, content-addressed and idempotent, and a
rollback's leftover is removed by the daily purge (``discard_orphans``) after a grace period.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.errors import InvalidInput
from app.extensions import db
from app.services.transaction import use_case
from app.services.uploads import orphans, s3
from app.services.uploads.backends import IMPORTS, Backend, DatabaseBackend, LocalBackend, is_digest

__all__ = [
    "MAX_FILE_BYTES",
    "Upload",
    "backend",
    "blob_path",
    "check_upload",
    "copy_local_files",
    "discard",
    "discard_import",
    "discard_orphans",
    "download_source",
    "exists",
    "fetch_import",
    "put_import",
    "read",
    "releases_local_copy",
    "safe_filename",
    "sniff_content_type",
    "store",
]

MAX_FILE_BYTES = 10 * 1024 * 1024
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
BACKENDS = ("local", "database", "s3")
_SETTINGS = ("STORAGE_BACKEND", "UPLOAD_DIR", "STORAGE_LOCAL_SHARED", "STORAGE_S3_BUCKET", "STORAGE_S3_PREFIX",
             "STORAGE_S3_ENDPOINT_URL", "STORAGE_S3_REGION", "STORAGE_S3_ACCESS_KEY_ID",
             "STORAGE_S3_SECRET_ACCESS_KEY", "STORAGE_S3_ADDRESSING_STYLE")


@dataclass(frozen=True)
class Upload:
    purpose: str
    filename: str
    data: bytes


def sniff_content_type(data: bytes) -> str | None:
    """The type the bytes really are (PDF, PNG or JPEG), whatever the file is called."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def check_upload(upload: Upload) -> str:
    if not upload.data:
        raise InvalidInput(_l("The file %(name)s is empty.", name=upload.filename))
    if len(upload.data) > MAX_FILE_BYTES:
        raise InvalidInput(_l("The file %(name)s is larger than 10 MB.", name=upload.filename))
    content_type = sniff_content_type(upload.data)
    if content_type is None:
        raise InvalidInput(
            _l("The file %(name)s is not a PDF, JPG or PNG file.", name=upload.filename)
        )
    return content_type


def backend() -> Backend:
    """The configured storage, one per application (an S3 client is made once, and is thread-safe)."""
    config = current_app.config
    settings = tuple(config.get(k) for k in _SETTINGS)
    cached = current_app.extensions.get("storage")
    if cached is None or cached[0] != settings:
        cached = (settings, _make_backend(config))
        current_app.extensions["storage"] = cached
    return cached[1]


def _make_backend(config) -> Backend:
    kind = config.get("STORAGE_BACKEND") or "local"
    if kind == "database":
        return DatabaseBackend()
    if kind == "s3":
        return s3.S3Backend(s3.make_client(config), config["STORAGE_S3_BUCKET"], config.get("STORAGE_S3_PREFIX") or "")
    if kind == "local":
        return LocalBackend(Path(config["UPLOAD_DIR"]), shared=bool(config.get("STORAGE_LOCAL_SHARED")))
    raise ValueError(f"STORAGE_BACKEND is one of {BACKENDS}, not {kind!r}")


def store(data: bytes) -> str:
    """Store the bytes under their SHA-256 (once; identical files share storage), before the
    caller's commit: in its transaction on the database backend, written ahead on the others."""
    digest = hashlib.sha256(data).hexdigest()
    backend().put(digest, data)
    return digest


def read(digest: str) -> bytes | None:
    """The stored bytes, or None if there are none (any more)."""
    return backend().read(digest)


def download_source(digest: str) -> Path | BinaryIO | None:
    """What Flask's ``send_file`` sends: the file's path on the local backend, its bytes
    otherwise; None if it is gone."""
    return backend().source(digest)


def exists(digest: str) -> bool:
    return backend().exists(digest)


def discard(digest: str) -> bool:
    """Delete the stored file of ``digest`` (the retention purge, once no row uses it); whether
    there was one. On the database backend, in the caller's transaction."""
    return backend().delete(digest)


def blob_path(digest: str) -> Path:
    """Where the local backend keeps ``digest`` (the demo's UPLOAD_DIR)."""
    return LocalBackend(Path(current_app.config["UPLOAD_DIR"])).path(digest)


# --- the uploads of queued imports: written on the web host, read by a scheduler host -----------

def _scratch() -> LocalBackend:
    return LocalBackend(Path(current_app.config["UPLOAD_DIR"]))


def put_import(name: str, path: Path) -> None:
    """Store a queued import's upload (written at ``path`` under UPLOAD_DIR/imports) where the
    scheduler hosts read it; on a shared backend the local copy may then go."""
    backend().put_file(f"{IMPORTS}/{name}", path)


def fetch_import(name: str, path: Path) -> bool:
    """A local copy of a queued import's upload at ``path`` (the scheduler's host may not be the
    one that received it); False if it is stored nowhere."""
    return path.exists() or backend().fetch_to(f"{IMPORTS}/{name}", path)


def discard_import(name: str, path: Path) -> None:
    """Delete an import's upload: the shared copy and this host's."""
    path.unlink(missing_ok=True)
    storage = backend()
    if not isinstance(storage, LocalBackend):
        storage.delete(f"{IMPORTS}/{name}")


def releases_local_copy() -> bool:
    """Whether an import's local copy goes once it is stored (it is the stored file on ``local``)."""
    return not isinstance(backend(), LocalBackend)


def discard_orphans(now: datetime | None = None) -> int:
    """The purge's step: delete the stored files no row points to, older than the grace period
    (and, on a shared backend, this host's stale copies of imports); how many. The caller commits."""
    storage = backend()
    places = [storage] if isinstance(storage, LocalBackend) else [storage, _ScratchImports(_scratch())]
    return orphans.discard_orphans(places, now)


class _ScratchImports:
    """This host's copies of import uploads, when the stored ones are elsewhere."""

    def __init__(self, local: LocalBackend):
        self.local = local

    def entries(self):
        return ((key, written) for key, written in self.local.entries() if key.startswith(f"{IMPORTS}/"))

    def delete(self, key: str, written_before: datetime | None = None) -> bool:
        return self.local.delete(key, written_before)


@use_case
def copy_local_files(batch: int = 100) -> tuple[int, int]:
    """Copy what UPLOAD_DIR holds (evidence, identity documents, queued imports) into the
    configured shared backend, before the hosts switch to it; (copied, already there). Commits
    every ``batch`` files; run again, it copies only what is missing."""
    storage, local = backend(), _scratch()
    if isinstance(storage, LocalBackend):
        raise ValueError("STORAGE_BACKEND is local: there is nothing to copy to")
    copied = present = 0
    for key, _written in local.entries():
        if not (is_digest(key) or key.startswith(f"{IMPORTS}/")) or "/.tmp-" in key:
            continue  # a temporary file of an interrupted write
        if storage.exists(key):
            present += 1
        else:
            storage.put(key, local.read(key))
            copied += 1
            if copied % batch == 0:
                db.session.commit()
    db.session.commit()
    return copied, present


def safe_filename(name: str) -> str:
    """Keep the name for display only: no directories, no control characters, bounded length."""
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-200:] or "file"
