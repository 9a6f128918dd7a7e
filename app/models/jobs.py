"""Scheduled jobs: one row per job, both its lock (for SQLite) and its heartbeat; policy recompute runs."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.enums import check_in


class JobRun(Base):
    """The last run of a job and, while one runs, who holds it.

    On PostgreSQL the job lock is an advisory lock; on SQLite it is the lease in
    ``locked_by``/``locked_until`` here, renewed every few seconds while the job runs (on
    PostgreSQL the same columns are kept for operators to read). Either way the heartbeat
    columns say when the job last ran, how long it took, what it did and how far behind it is.
    Lease, heartbeat, skip and request instants are the real wall clock, never the platform
    clock that ``--now`` and the tests move.
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
    heartbeat_at: Mapped[datetime | None]  # the running job's holder was alive then (its lease renewal)
    last_skipped_at: Mapped[datetime | None]  # a run found the job held elsewhere
    skips: Mapped[int] = mapped_column(default=0, server_default="0")
    requested_at: Mapped[datetime | None]  # an admin's "run now", until a run starts
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class SchedulerProcess(Base):
    """A scheduler process, and when it was last seen alive (written every few seconds)."""

    __tablename__ = "scheduler_process"

    holder: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]


class RecomputeState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RecomputeRun(Base):
    """One policy recompute an admin asked for: the queue the scheduler reads, and its progress.

    The web request only adds a queued row; the scheduler process runs it chunk by chunk, each
    chunk committed with the counters and the cursor (the last record and case id done), so a
    run that died resumes after its last committed chunk. ``active`` is true while the run is
    queued or running and NULL after: its unique constraint lets one run be active at a time.
    """

    __tablename__ = "recompute_run"
    __table_args__ = (check_in("state", RecomputeState), UniqueConstraint("active"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(ForeignKey("policy.version"))
    state: Mapped[str] = mapped_column(String(10), default=RecomputeState.QUEUED)
    active: Mapped[bool | None] = mapped_column(default=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # NULL: the CLI
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # the last committed chunk
    host: Mapped[str | None] = mapped_column(String(120))
    records_total: Mapped[int] = mapped_column(default=0, server_default="0")
    records_done: Mapped[int] = mapped_column(default=0, server_default="0")
    records_moved: Mapped[int] = mapped_column(default=0, server_default="0")  # with new dates
    cases_total: Mapped[int] = mapped_column(default=0, server_default="0")
    cases_done: Mapped[int] = mapped_column(default=0, server_default="0")
    cases_kept: Mapped[int] = mapped_column(default=0, server_default="0")  # in a state without clocks
    timers_moved: Mapped[int] = mapped_column(default=0, server_default="0")
    record_cursor: Mapped[int] = mapped_column(default=0, server_default="0")
    case_cursor: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def finished(self) -> bool:
        return self.state in (RecomputeState.DONE, RecomputeState.FAILED)
