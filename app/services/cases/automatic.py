"""Transitions the system makes on its own: lapses and closes when a clock runs out, and
the end of open cases whose record left publicity.

Both are level-triggered: each run looks at what is true now (a running clock past its
deadline, an open case on a retired record), not at marks an earlier run may have left
half-done, so a process that died between two steps loses nothing. Lapses and closes go in
batches, one transaction each; a case another process moved meanwhile is skipped.
"""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.errors import Conflict
from app.extensions import db
from app.models import Case, CreditRecord, Timer
from app.models.enums import IN_PUBLICITY, TimerStatus
from app.services.cases.transitions import DEPENDENT_CASES, Action, apply_transition, end_cases_of_record
from app.services.transaction import use_case
from workflows import CASE_WORKFLOWS

BATCH = 200  # cases per transaction: one commit for many lapses, short enough to hold their locks


@use_case
def fire_breach_triggers(batch_size: int = BATCH) -> int:
    """Fire the breach trigger of every running clock that has one and ran out; the count."""
    now = clock.now()
    fired = 0
    for kind, workflow in CASE_WORKFLOWS.items():
        triggers = {c.name: c.on_breach for c in workflow.clocks if c.on_breach}
        if not triggers:
            continue
        # Running only: a paused clock is not counting down. Whether an earlier sweep marked
        # the breach (``breached_at``) does not matter, so a lapse is never lost to a crash.
        due = db.session.execute(
            select(Timer.case_id, Timer.clock, Case.version).join(Case, Case.id == Timer.case_id).where(
                Case.kind == kind, Timer.clock.in_(triggers), Timer.status == TimerStatus.RUNNING,
                Timer.due_at < now,
            ).order_by(Timer.due_at, Timer.case_id)
        ).all()
        db.session.rollback()  # end the read before the writes
        for start in range(0, len(due), batch_size):
            fired += _fire_batch(due[start:start + batch_size], triggers)
    return fired


def _fire_batch(due, triggers: dict[str, str]) -> int:
    """One transaction for a batch of lapses and closes, each through the workflow in a savepoint
    of its own: a case that moved on meanwhile is refused alone, the others stand."""
    locked = {case.id: case for case in db.session.scalars(
        # Another process moving one of these cases holds its row: skip it, the next run decides.
        select(Case).where(Case.id.in_({case_id for case_id, _, _ in due}))
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    )}
    fired = 0
    for case_id, clock_name, version in due:
        case = locked.get(case_id)
        if case is None:
            continue
        # On the version read with the expired clock: if anything happened to the case since (a
        # withdrawal, a recompute that moved the deadline, its other clock's lapse), the
        # transition is refused, and the next run decides again on what is true then.
        action = Action(triggers[clock_name], version, reason=f"deadline of {clock_name} passed")
        try:
            with db.session.begin_nested():
                apply_transition(case, action, None)
        except Conflict:
            continue
        fired += 1
    db.session.commit()
    return fired


@use_case
def close_cases_on_retired_records() -> int:
    """Open cases on a record out of publicity end where their workflow says so
    (``on_record_left_publicity``): there is nothing left to decide. Level-triggered: after a
    retirement (the expiry job), and for anything a transition's own step did not reach (a
    record revoked or repaired by its department outside a case, a run that died half-way).

    Driven from the open cases (few) to their records; one transaction for all of them.
    """
    record_ids = db.session.scalars(
        select(Case.record_id).join(CreditRecord, CreditRecord.id == Case.record_id)
        .where(DEPENDENT_CASES, CreditRecord.state.not_in(IN_PUBLICITY))
        .distinct().order_by(Case.record_id)
    ).all()
    ended = 0
    for record_id in record_ids:
        ended += end_cases_of_record(db.session.get(CreditRecord, record_id))
    db.session.commit()
    return ended
