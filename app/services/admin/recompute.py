"""Recompute: records in publicity and open cases moved onto the policy version in force.

An explicit, audited job an admin asks for after a new version took effect. The admin page only
queues it (``request_recompute``: a ``RecomputeRun`` row, an audit row naming who asked) and
answers at once; the scheduler process, which polls for queued runs every few seconds, runs it
(``run_recompute``), as does ``flask policy recompute`` in the foreground (``recompute``).

A run is set-based (``admin.recompute_steps``): chunks of ids, each a few statements whatever
the number of records, each committed with the run's counters and cursor. A run that died (the
process killed) is still "running": the next poll resumes it after its last committed chunk. A
run that failed (an error) says so on the page; asking again starts a new run, which skips what
the failed one moved (a record or case already on the version is not behind it). Every record
and case moved onto the version gets a ``recompute`` event, in its chunk's transaction; the
audit row with the counts is written in the transaction that ends the run.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import Conflict
from app.extensions import db
from app.models import Case, CreditRecord, Policy, RecomputeRun, RecomputeState, User
from app.services.admin.jobs import HOLDER, job_lock
from app.services.admin.recompute_steps import (
    RecordGroups,
    move_cases,
    move_records,
    pending_cases,
    pending_records,
)
from app.services.audit import audit_admin_change
from app.services.policy import get_policy_in_force
from app.services.policy.versions import get_version
from app.services.transaction import use_case

RECOMPUTE_JOB = "recompute"  # the lock that keeps two processes from running it, the scheduler's job id
CHUNK_SIZE = 50_000  # ids per chunk, records and cases alike
# How long the lock's lease lasts on SQLite (PostgreSQL's advisory lock ends with the process).
LEASE = timedelta(hours=2)
RECOMPUTE_POLL_EVERY = timedelta(seconds=5)  # how often the scheduler looks for a queued run

ALREADY_RUNNING = _l("A recompute is already queued or running (records %(done)d of %(total)d); "
                     "wait for it to finish.")
NOT_IN_FORCE = _l("Only the version in force can be applied; this one is not in force today.")


@dataclass
class RecomputeResult:
    version: int
    records: int = 0
    records_moved: int = 0
    cases: int = 0
    timers_moved: int = 0
    cases_kept: int = 0  # open cases in a state without clocks keep their version
    run_id: int | None = None


def _result(run: RecomputeRun) -> RecomputeResult:
    return RecomputeResult(version=run.version, records=run.records_done, records_moved=run.records_moved,
                           cases=run.cases_done, timers_moved=run.timers_moved, cases_kept=run.cases_kept,
                           run_id=run.id)


def latest_recompute() -> RecomputeRun | None:
    """The last run asked for (the policy page shows its progress)."""
    return db.session.scalar(select(RecomputeRun).order_by(RecomputeRun.id.desc()).limit(1))


def _active_run() -> RecomputeRun | None:
    return db.session.scalar(select(RecomputeRun).where(RecomputeRun.active.is_(True)))


def _refuse_while_active(run: RecomputeRun) -> Conflict:
    return Conflict(ALREADY_RUNNING % {"done": run.records_done, "total": run.records_total})


@use_case
def request_recompute(actor: User | None, version: int) -> RecomputeRun:
    """Queue a recompute onto ``version`` (the version in force) for the scheduler; audited.

    Raises Conflict while another run is queued or running (one at a time: the unique
    ``active`` column decides between two admins asking at the same instant), or when the
    version is not the one in force. ``actor`` None: the CLI.
    """
    policy = get_version(version)
    if get_policy_in_force().version != policy.version:
        raise Conflict(NOT_IN_FORCE)
    active = _active_run()
    if active is not None:
        raise _refuse_while_active(active)
    now = clock.now()
    run = RecomputeRun(version=version, state=RecomputeState.QUEUED, active=True,
                       requested_by_id=actor.id if actor else None, requested_at=now)
    _count_totals(run)
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        active = _active_run()
        raise _refuse_while_active(active) if active else Conflict(ALREADY_RUNNING % {"done": 0, "total": 0}) from None
    audit_admin_change(actor, "policy.recompute_requested", "policy", policy.id, None,
                       {"version": version, "run": run.id})
    db.session.commit()
    return run


@use_case
def run_recompute(chunk_size: int = CHUNK_SIZE,
                  after_chunk: Callable[[RecomputeRun], None] | None = None) -> RecomputeResult | None:
    """Run the queued recompute, or resume the one a dead process left running; None when there is
    none or another process runs it. Commits per chunk; on an error the run is marked failed (with
    the error) and the error raised. ``after_chunk`` is called after each chunk's commit (tests
    use it to kill the run there)."""
    if _active_run() is None:  # the scheduler's poll: one query when nothing is queued
        return None
    with job_lock(RECOMPUTE_JOB, lease=LEASE) as acquired:
        if not acquired:
            return None
        run = db.session.scalar(select(RecomputeRun).where(RecomputeRun.active.is_(True))
                                .execution_options(populate_existing=True))
        if run is None:
            return None
        try:
            _run(run, chunk_size, after_chunk)
        except Exception as error:
            db.session.rollback()
            run.state, run.active, run.finished_at = RecomputeState.FAILED, None, clock.now()
            run.error = f"{type(error).__name__}: {error}"[:2000]
            db.session.commit()
            raise
        return _result(run)


def _run(run: RecomputeRun, chunk_size: int, after_chunk) -> None:
    policy = get_version(run.version)
    if get_policy_in_force().version != policy.version:
        raise Conflict(NOT_IN_FORCE)
    now = clock.now()
    if run.state == RecomputeState.QUEUED:
        run.started_at = now
        _count_totals(run)  # again: what changed while it was queued
    run.state, run.host, run.heartbeat_at = RecomputeState.RUNNING, HOLDER, now
    db.session.commit()

    groups = RecordGroups(policy)
    first, last = db.session.execute(select(func.min(CreditRecord.id), func.max(CreditRecord.id))
                                     .where(pending_records(policy.version))).one()
    run.record_cursor = max(run.record_cursor, (first or 1) - 1)
    last = last or 0
    while run.record_cursor < last:
        upto = min(run.record_cursor + chunk_size, last)
        counts = move_records(policy, groups, run.record_cursor, upto, clock.now())
        run.records_done += counts.done
        run.records_moved += counts.moved
        _checkpoint(run, "record_cursor", upto)
        db.session.commit()
        _after_commit(run, after_chunk)
    first, last = db.session.execute(select(func.min(Case.id), func.max(Case.id))
                                     .where(pending_cases(policy.version))).one()
    run.case_cursor = max(run.case_cursor, (first or 1) - 1)
    last = last or 0
    while run.case_cursor < last:
        upto = min(run.case_cursor + chunk_size, last)
        counts = move_cases(policy, run.case_cursor, upto, clock.now())
        run.cases_done += counts.done
        run.cases_kept += counts.kept
        run.timers_moved += counts.moved
        _checkpoint(run, "case_cursor", upto)
        db.session.commit()
        _after_commit(run, after_chunk)
    _finish(run, policy)
    db.session.commit()


def _count_totals(run: RecomputeRun) -> None:
    run.records_total = db.session.scalar(
        select(func.count()).select_from(CreditRecord).where(pending_records(run.version)))
    run.cases_total = db.session.scalar(select(func.count()).select_from(Case).where(pending_cases(run.version)))


def _checkpoint(run: RecomputeRun, cursor: str, upto: int) -> None:
    """The chunk's progress, committed with it: a run that dies resumes after ``upto``."""
    setattr(run, cursor, upto)
    run.heartbeat_at = clock.now()


def _after_commit(run: RecomputeRun, after_chunk) -> None:
    db.session.expire_all()  # the statements changed rows behind the ORM's back
    if after_chunk is not None:
        after_chunk(run)


def _finish(run: RecomputeRun, policy: Policy) -> None:
    run.state, run.active, run.finished_at = RecomputeState.DONE, None, clock.now()
    requester = db.session.get(User, run.requested_by_id) if run.requested_by_id else None
    audit_admin_change(requester, "policy.recompute", "policy", policy.id, None,
                       {"version": run.version, "run": run.id, "records": run.records_done,
                        "records_moved": run.records_moved, "cases": run.cases_done,
                        "timers_moved": run.timers_moved, "cases_kept": run.cases_kept})


@use_case
def recompute(actor: User | None, version: int, chunk_size: int = CHUNK_SIZE) -> RecomputeResult:
    """Queue a recompute onto ``version`` and run it here, in the foreground (the CLI).

    Raises Conflict as ``request_recompute`` does, and when the scheduler took the run first
    (it then goes on there: the policy page shows its progress).
    """
    run_id = request_recompute(actor, version).id
    result = run_recompute(chunk_size=chunk_size)
    if result is None or result.run_id != run_id:
        raise Conflict(_l("The scheduler is running this recompute; the policy page shows its progress."))
    return result
