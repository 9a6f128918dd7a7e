"""Running scheduled jobs: one at a time across all hosts, with a heartbeat.

Each run takes the job's lock first: a session-level advisory lock on PostgreSQL (released
when the run ends, or by the server if the process dies), a lease in ``job_run`` on SQLite.
A run that cannot take the lock is skipped: another host is doing the work. Each run writes
when it started and ended, what it did or how it failed, so admins see how far behind each
job is.
"""
from __future__ import annotations

import json
import os
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from app import clock
from app.extensions import db
from app.models import JobRun
from app.services.accounts.housekeeping import delete_old_challenges, delete_old_sessions, delete_old_sign_in_attempts
from app.services.binding import remind_identity_checks
from app.services.cases import close_cases_on_retired_records, fire_breach_triggers
from app.services.notices import dispatch_pending
from app.services.records import (
    ExpiryResult,
    PurgeResult,
    purge_expired_personal_data,
    retire_expired_records,
    tell_subjects_ahead,
)
from app.services.records.expiry import BATCH_SIZE
from app.services.records.retention import clear_old_import_reports
from app.services.signup import purge_sign_up_requests
from app.services.sla import SweepResult, sweep_sla
from app.services.transaction import use_case


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]
    every: timedelta
    description: str


def expire_job(batch_size: int = BATCH_SIZE) -> ExpiryResult:
    """Retire records whose publicity ended, then close the open cases on them."""
    result = retire_expired_records(batch_size=batch_size)
    result.cases_closed = close_cases_on_retired_records()
    result.subjects_told = tell_subjects_ahead()  # the records that leave next
    return result


def sla_job() -> SweepResult:
    """Mark deadlines due soon and breached, escalate, then fire the lapses and closes."""
    result = sweep_sla()
    result.due_soon += remind_identity_checks()  # the officers' identity checks of bindings
    result.auto_transitions = fire_breach_triggers()
    return result


@use_case
def purge_job() -> PurgeResult:
    """Records past their retention, sign-up requests long used or lapsed, then the housekeeping
    tables (sessions, sign-in attempts, second-factor sign-ins, import reports): one commit."""
    result = purge_expired_personal_data()
    result.sign_up_requests = purge_sign_up_requests()
    result.sessions = delete_old_sessions()
    result.two_factor_challenges = delete_old_challenges()
    result.sign_in_attempts = delete_old_sign_in_attempts()
    result.import_reports = clear_old_import_reports()
    db.session.commit()
    return result


JOBS = {
    job.name: job
    for job in (
        Job("expire", expire_job, timedelta(hours=1), "retire records whose publicity ended"),
        Job("sla", sla_job, timedelta(minutes=5), "deadlines due soon and breached, escalations, lapses"),
        Job("dispatch", dispatch_pending, timedelta(seconds=30), "deliver notices: inbox, e-mail, webhooks"),
        Job("purge", purge_job, timedelta(days=1), "remove personal data past retention"),
    )
}

HOLDER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RunOutcome:
    job: str
    ran: bool
    result: object = None
    error: str | None = None
    seconds: float = 0.0


@use_case
def run_job(name: str, lease: timedelta | None = None) -> RunOutcome:
    """Run one job now if no other process runs it; record the heartbeat either way it ends."""
    job = JOBS[name]
    with job_lock(name, lease or max(job.every * 2, timedelta(minutes=10))) as acquired:
        if not acquired:
            return RunOutcome(name, ran=False)
        started, t0 = clock.now(), time.perf_counter()
        _heartbeat(name, last_started_at=started, last_host=HOLDER)
        try:
            result = job.run()
        except Exception as error:  # the heartbeat must say so; the scheduler keeps going
            db.session.rollback()
            seconds = time.perf_counter() - t0
            _heartbeat(
                name, last_finished_at=clock.now(), last_duration_ms=int(seconds * 1000),
                last_error=f"{type(error).__name__}: {error}"[:2000], failures=JobRun.failures + 1,
                runs=JobRun.runs + 1,
            )
            raise
        seconds = time.perf_counter() - t0
        summary = json.dumps(asdict(result) if is_dataclass(result) else result, default=str)[:2000]
        _heartbeat(
            name, last_finished_at=clock.now(), last_duration_ms=int(seconds * 1000),
            last_result=summary, last_error=None, runs=JobRun.runs + 1,
        )
        return RunOutcome(name, ran=True, result=result, seconds=seconds)


def _heartbeat(name: str, **values) -> None:
    _ensure_row(name)
    db.session.execute(update(JobRun).where(JobRun.name == name).values(**values))
    db.session.commit()


def _ensure_row(name: str) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(JobRun).values(name=name, runs=0, failures=0).on_conflict_do_nothing())


def _advisory_key(name: str) -> int:
    return zlib.crc32(f"casedesk-job:{name}".encode())


@contextmanager
def job_lock(name: str, lease: timedelta) -> Iterator[bool]:
    """Hold the job's lock for the block; yields False when another process holds it."""
    if db.session.get_bind().dialect.name == "postgresql":
        # A connection of its own: the lock must outlive the job's many commits.
        with db.engine.connect() as connection:
            key = _advisory_key(name)
            acquired = connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            connection.commit()
            try:
                yield bool(acquired)
            finally:
                if acquired:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
        return
    _ensure_row(name)
    now = clock.now()
    taken = db.session.execute(
        update(JobRun)
        .where(JobRun.name == name, or_(JobRun.locked_until.is_(None), JobRun.locked_until < now))
        .values(locked_by=HOLDER, locked_until=now + lease)
        .returning(JobRun.name)
    ).scalar()
    db.session.commit()
    try:
        yield taken is not None
    finally:
        if taken is not None:
            db.session.rollback()
            db.session.execute(
                update(JobRun).where(JobRun.name == name, JobRun.locked_by == HOLDER)
                .values(locked_by=None, locked_until=None)
            )
            db.session.commit()


@dataclass
class JobHealth:
    name: str
    description: str
    every: timedelta
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_duration_ms: int | None
    last_result: str | None
    last_error: str | None
    runs: int
    failures: int
    behind: timedelta | None  # how late the job is against its schedule (None: never ran)

    @property
    def late(self) -> bool:
        return self.behind is None or self.behind > self.every


def job_health() -> list[JobHealth]:
    rows = {r.name: r for r in db.session.scalars(select(JobRun))}
    now = clock.now()
    health = []
    for job in JOBS.values():
        row = rows.get(job.name)
        finished = row.last_finished_at if row else None
        health.append(
            JobHealth(
                name=job.name, description=job.description, every=job.every,
                last_started_at=row.last_started_at if row else None, last_finished_at=finished,
                last_duration_ms=row.last_duration_ms if row else None,
                last_result=row.last_result if row else None, last_error=row.last_error if row else None,
                runs=row.runs if row else 0, failures=row.failures if row else 0,
                behind=max(timedelta(0), now - finished - job.every) if finished else None,
            )
        )
    return health
