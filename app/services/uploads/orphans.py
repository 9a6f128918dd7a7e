"""The orphan purge: stored files that no row points to, older than the grace period.

On the local and S3 backends a file is written before the transaction that points to it
commits, so a case never points to a missing file; a rollback (a refused submission, a crash)
leaves a file nothing points to. The daily purge deletes those once they are older than
``STORAGE_ORPHAN_GRACE``: a younger one may belong to a transaction still in flight (storing a
file again makes it young, identical files included). On the database backend a rollback leaves
nothing, but the same step runs there too.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, BindingDocument, ImportRun
from app.services.uploads.backends import IMPORTS, Backend, is_digest, wall_clock

CHUNK = 500  # keys looked up per query


def referenced(keys: list[str]) -> set[str]:
    """Those of ``keys`` that a row points to: an evidence file, an identity document, or the
    upload of an import run not yet ended."""
    digests = [k for k in keys if is_digest(k)]
    names = {k.split("/", 1)[1]: k for k in keys if k.startswith(f"{IMPORTS}/")}
    used = set()
    if digests:
        used |= set(db.session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(digests))))
        used |= set(db.session.scalars(select(BindingDocument.sha256).where(BindingDocument.sha256.in_(digests))))
    if names:
        used |= {names[n] for n in db.session.scalars(
            select(ImportRun.stored_name).where(ImportRun.stored_name.in_(list(names))))}
    return used


def discard_orphans(backends: Iterable[Backend], now: datetime | None = None) -> int:
    """Delete from each backend what no row points to and was last written over the grace
    period before ``now`` (the wall clock); how many. A step: the caller commits."""
    cutoff = (now or wall_clock()) - current_app.config["STORAGE_ORPHAN_GRACE"]
    deleted = 0
    for backend in backends:
        old = [key for key, written in backend.entries() if written < cutoff]
        for start in range(0, len(old), CHUNK):
            chunk = old[start:start + CHUNK]
            deleted += sum(backend.delete(key, written_before=cutoff) for key in sorted(set(chunk) - referenced(chunk)))
    return deleted
