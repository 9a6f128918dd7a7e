"""Scheduled jobs: one row per job, both its lock (for SQLite) and its heartbeat."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class JobRun(Base):
    """The last run of a job and, while one runs, who holds it.

    On PostgreSQL the job lock is an advisory lock; on SQLite it is the lease in
    ``locked_by``/``locked_until`` here. Either way the heartbeat columns say when the job
    last ran, how long it took, what it did and how far behind it is.
    """

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    locked_until: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_duration_ms: Mapped[int | None]
    last_result: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_host: Mapped[str | None] = mapped_column(String(120))
    runs: Mapped[int] = mapped_column(default=0, server_default="0")
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
