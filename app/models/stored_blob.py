"""Stored files in the database itself (``STORAGE_BACKEND = "database"``, app/services/uploads)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class StoredBlob(Base):
    """One stored file: an evidence file or identity document under its SHA-256 (hex), or a
    queued import's upload under ``imports/<stored_name>``.

    Written in the transaction of the row that points to it, so neither is ever without the
    other. ``created_at`` is the last time a writer stored these bytes (rewritten when the same
    file is stored again), so the orphan purge spares what a transaction in flight just stored."""

    __tablename__ = "stored_blob"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # up to 20 MB: loaded only when asked
    size: Mapped[int]
    created_at: Mapped[datetime]
