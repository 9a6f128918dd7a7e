"""Running scheduled jobs: one at a time across all hosts, with a heartbeat.

Each run takes the job's lock first: a session-level advisory lock on PostgreSQL (released
when the run ends, or by the server if the process dies), a lease in ``job_run`` on SQLite.
The lease is short (``JOB_LEASE_SECONDS``) and renewed while the job runs, by a thread with a
connection of its own, so a lease whose process died ends within that time (on PostgreSQL the
same columns say who runs the job, for operators). A run that cannot take the lock is skipped,
and says so (the log, ``skips``): another host is doing the work. Each run writes when it
started and ended, what it did or how it failed, so admins see how far behind each job is.
An admin's "run now" is a request in ``job_run`` that the scheduler process picks up.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session, sessionmaker

from app import clock
from app.extensions import db
from app.models import JobRun, User
from app.models.jobs import SchedulerProcess
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
from app.services.statistics import statistics_job
from app.services.transaction import use_case


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]
    every: timedelta
    description: str  # lazy: in the reader's language where shown


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
        Job("expire", expire_job, timedelta(hours=1), _l("Retire the records whose publicity ended")),
        Job("sla", sla_job, timedelta(minutes=5), _l("Deadlines due soon and passed, escalations, lapses")),
        Job("dispatch", dispatch_pending, timedelta(seconds=30), _l("Deliver notices: inbox, e-mail, webhooks")),
        Job("purge", purge_job, timedelta(days=1), _l("Remove personal data past its retention")),
        Job("statistics", statistics_job, timedelta(hours=1), _l("Compute the public statistics the pages show")),
    )
}

HOLDER = f"{socket.gethostname()}:{os.getpid()}"
log = logging.getLogger(__name__)
T = TypeVar("T")


def wall_now() -> datetime:
    """The real time, for leases and heartbeats: the platform clock may be moved (``--now``,
    the tests), and a lease must end when its holder has really been gone that long."""
    return datetime.now(UTC)


def default_lease() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("JOB_LEASE_SECONDS") or 60))


@dataclass
class RunOutcome:
    job: str
    ran: bool
    result: object = None
    error: str | None = None
    seconds: float = 0.0
    held_by: str | None = None  # when skipped: who holds the job, and until when
    held_until: datetime | None = None


@use_case
def run_job(name: str, lease: timedelta | None = None) -> RunOutcome:
    """Run one job now if no other process runs it; record the heartbeat either way it ends."""
    job = JOBS[name]
    with job_lock(name, lease) as acquired:
        if not acquired:
            row = db.session.get(JobRun, name)
            return RunOutcome(name, ran=False, held_by=row.locked_by if row else None,
                              held_until=row.locked_until if row else None)
        started, t0 = clock.now(), time.perf_counter()
        # A run starting now answers every "run now" asked before it; one asked later waits for the next.
        _heartbeat(name, last_started_at=started, last_host=HOLDER)
        _clear_requests(name, wall_now())
        try:
            result = job.run()
        except Exception as error:  # the heartbeat must say so; the scheduler keeps going
            db.session.rollback()
            seconds = time.perf_counter() - t0
            try:
                _heartbeat(
                    name, last_finished_at=clock.now(), last_duration_ms=int(seconds * 1000),
                    last_error=f"{type(error).__name__}: {error}"[:2000], failures=JobRun.failures + 1,
                    runs=JobRun.runs + 1,
                )
            except SQLAlchemyError:  # the database itself failed: the job's error is the one to raise
                db.session.rollback()
                log.exception("job %s: its failure could not be recorded", name)
            raise
        seconds = time.perf_counter() - t0
        summary = json.dumps(asdict(result) if is_dataclass(result) else result, default=str)[:2000]
        _heartbeat(
            name, last_finished_at=clock.now(), last_duration_ms=int(seconds * 1000),
            last_result=summary, last_error=None, runs=JobRun.runs + 1,
        )
        return RunOutcome(name, ran=True, result=result, seconds=seconds)


def _heartbeat(name: str, **values) -> None:
    ensure_job_row(name)
    db.session.execute(update(JobRun).where(JobRun.name == name).values(**values))
    db.session.commit()


def _clear_requests(name: str, started: datetime) -> None:
    db.session.execute(update(JobRun).where(JobRun.name == name, JobRun.requested_at <= started)
                       .values(requested_at=None, requested_by_id=None))
    db.session.commit()


def ensure_job_row(name: str) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(JobRun).values(name=name, runs=0, failures=0).on_conflict_do_nothing())


def _advisory_key(name: str) -> int:
    return zlib.crc32(f"casedesk-job:{name}".encode())


@contextmanager
def job_lock(name: str, lease: timedelta | None = None) -> Iterator[bool]:
    """Hold the job's lock for the block; yields False when another process holds it.

    ``lease`` (default ``JOB_LEASE_SECONDS``) is how long the lock outlives a holder that died:
    it is renewed every quarter of it while the block runs."""
    lease = lease or default_lease()
    with _advisory_lock(name) as exclusive:
        holder = _take_lease(name, lease, exclusive) if exclusive is not False else None
        if holder is None:
            _record_skip(name)
            yield False
            return
        renewal = _LeaseRenewal(db.engine, name, holder, lease)
        renewal.start()
        try:
            yield True
        finally:
            renewal.finish()
            db.session.rollback()
            db.session.execute(
                update(JobRun).where(JobRun.name == name, JobRun.locked_by == holder)
                .values(locked_by=None, locked_until=None)
            )
            db.session.commit()


@contextmanager
def _advisory_lock(name: str) -> Iterator[bool | None]:
    """PostgreSQL: the job's advisory lock (True or False), on a connection of its own, as the
    lock must outlive the job's many commits. SQLite: None, the lease row is the lock."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield None
        return
    with db.engine.connect() as connection:
        key = _advisory_key(name)
        acquired = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        connection.commit()
        try:
            yield acquired
        finally:
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()


def _take_lease(name: str, lease: timedelta, exclusive: bool | None) -> str | None:
    """Write this run as the job's holder; returns its holder name, None if another holds it.

    With the advisory lock held (``exclusive``) the row is only information and is taken
    whatever it says. A lease taken from a holder that died counts that run as a failure."""
    ensure_job_row(name)
    now = wall_now()
    holder = f"{HOLDER}#{secrets.token_hex(3)}"  # one run: a thread of the same process is another holder
    free = or_(JobRun.locked_until.is_(None), JobRun.locked_until < now)
    previous = db.session.execute(
        select(JobRun.locked_by, JobRun.locked_until).where(JobRun.name == name)).one()
    taken = db.session.execute(
        update(JobRun).where(JobRun.name == name, *([] if exclusive else [free]))
        .values(locked_by=holder, locked_until=now + lease, heartbeat_at=now)
        .returning(JobRun.name)
    ).scalar()
    if taken is not None and previous.locked_by is not None:
        log.warning("job %s: the run by %s stopped without finishing (its lease ran to %s); taken over",
                    name, previous.locked_by, previous.locked_until)
        db.session.execute(update(JobRun).where(JobRun.name == name).values(
            failures=JobRun.failures + 1,
            last_error=f"the run by {previous.locked_by} stopped without finishing"[:2000]))
    db.session.commit()
    return holder if taken is not None else None


def _record_skip(name: str) -> None:
    db.session.rollback()
    ensure_job_row(name)
    row = db.session.execute(select(JobRun.locked_by, JobRun.locked_until).where(JobRun.name == name)).one()
    db.session.execute(update(JobRun).where(JobRun.name == name)
                       .values(skips=JobRun.skips + 1, last_skipped_at=wall_now()))
    db.session.commit()
    log.info("job %s skipped: %s holds it (lease until %s)", name, row.locked_by or "another process",
             row.locked_until.isoformat() if row.locked_until else "-")


class _LeaseRenewal(threading.Thread):
    """Renews a running job's lease every quarter of it, on a connection of its own (one small
    UPDATE that only the holder can make), until the job ends."""

    def __init__(self, engine: Engine, name: str, holder: str, lease: timedelta):
        super().__init__(name=f"lease-{name}", daemon=True)
        self.engine, self.job, self.holder, self.lease = engine, name, holder, lease
        self.every = max(lease.total_seconds() / 4, 0.1)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            try:
                with self.engine.begin() as connection:
                    now = wall_now()
                    renewed = connection.execute(
                        update(JobRun).where(JobRun.name == self.job, JobRun.locked_by == self.holder)
                        .values(locked_until=now + self.lease, heartbeat_at=now)).rowcount
            except SQLAlchemyError as error:  # a busy or unreachable database: the next tick tries again
                log.warning("job %s: lease not renewed (%s)", self.job, type(error).__name__)
                continue
            if not renewed and not self.done.is_set():
                log.warning("job %s: lease of %s lost (taken over after it ran out)", self.job, self.holder)
                return

    def finish(self) -> None:
        self.done.set()
        self.join(timeout=1)


@use_case
def scheduler_beat(started_at: datetime) -> None:
    """Write that this scheduler process lives (``scheduler_process.seen_at``); forget the ones
    not seen for a day."""
    now = wall_now()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SchedulerProcess).values(holder=HOLDER, started_at=started_at, seen_at=now)
    db.session.execute(statement.on_conflict_do_update(index_elements=["holder"], set_={"seen_at": now}))
    db.session.execute(delete(SchedulerProcess).where(SchedulerProcess.seen_at < now - timedelta(days=1)))
    db.session.commit()


def scheduler_last_seen() -> datetime | None:
    """When a scheduler process was last seen alive (None: never)."""
    return db.session.scalar(select(func.max(SchedulerProcess.seen_at)))


def scheduler_alive(seen: datetime | None) -> bool:
    """Whether a scheduler last seen at ``seen`` still lives: seen within three of its beats."""
    every = int(current_app.config.get("JOB_POLL_SECONDS") or 5)
    return seen is not None and wall_now() - seen <= timedelta(seconds=3 * every)


def requested_jobs() -> list[str]:
    """The jobs to start now that no process is running (their lease is free): those an admin
    asked for, and those whose last run died unfinished (a scheduler killed mid-run), which
    would otherwise wait for their next turn, an hour for the expiry."""
    now = wall_now()
    died = and_(JobRun.last_started_at.is_not(None),
                or_(JobRun.last_finished_at.is_(None), JobRun.last_finished_at < JobRun.last_started_at))
    return list(db.session.scalars(
        select(JobRun.name).where(or_(JobRun.requested_at.is_not(None), died),
                                  or_(JobRun.locked_until.is_(None), JobRun.locked_until < now))
        .order_by(JobRun.requested_at, JobRun.name)))


def rehearse(run: Callable[[], T]) -> T:
    """Run a job (as of the clock, ``--now``) and roll back everything it wrote: what it would do.

    Its commits only release savepoints inside one transaction that is rolled back at the end;
    for short jobs only (on SQLite that transaction holds the write lock until it ends), and for
    the CLI only: it swaps the session of the whole process for the while."""
    db.session.flush()
    connection = db.session.connection()
    rehearsal = connection.begin_nested()
    saved = db.session
    db.session = scoped_session(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
    try:
        return run()
    finally:
        db.session.remove()
        db.session = saved
        rehearsal.rollback()
        saved.expire_all()


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
    locked_by: str | None = None  # the process running it, while its lease lasts
    locked_until: datetime | None = None
    heartbeat_at: datetime | None = None
    last_skipped_at: datetime | None = None
    skips: int = 0
    requested_at: datetime | None = None  # an admin asked to run it now; the scheduler has not started it yet
    requested_by: str | None = None

    @property
    def late(self) -> bool:
        return self.behind is None or self.behind > self.every

    @property
    def running(self) -> bool:
        return self.locked_by is not None and self.locked_until is not None and self.locked_until > wall_now()


def job_health() -> list[JobHealth]:
    rows = {r.name: r for r in db.session.scalars(select(JobRun))}
    asked_by = [r.requested_by_id for r in rows.values() if r.requested_by_id]
    requesters = dict(db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(asked_by))).all()) if asked_by else {}
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
                **({} if row is None else {
                    "locked_by": row.locked_by, "locked_until": row.locked_until, "heartbeat_at": row.heartbeat_at,
                    "last_skipped_at": row.last_skipped_at, "skips": row.skips or 0,
                    "requested_at": row.requested_at, "requested_by": requesters.get(row.requested_by_id),
                }),
            )
        )
    return health
