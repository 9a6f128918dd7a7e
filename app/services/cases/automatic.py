"""Transitions the system makes on its own: lapses and closes when a clock runs out, and
the end of open cases whose record left publicity.

Both are level-triggered: each run looks at what is true now (a running clock past its
deadline, an open case on a retired record), not at marks an earlier run may have left
half-done, so a process that died between two steps loses nothing. Each case is its own
transaction; a case another process moved meanwhile is skipped.
"""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from app import clock
from app.errors import Conflict
from app.extensions import db
from app.models import Case, CreditRecord, Timer
from app.models.enums import RecordState, TimerStatus
from app.services.cases.guards import OPEN_DONE
from app.services.cases.transitions import Action, apply_transition, lock_case, transition_case
from app.services.transaction import use_case
from workflows import CASE_WORKFLOWS

RETIREMENT_REASON = "记录公示期满，已停止公示，本案终结。"


def fire_breach_triggers() -> int:
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
        db.session.rollback()  # end the read before the writes, each in its own transaction
        for case_id, clock_name, version in due:
            # On the version read with the expired clock: if anything happened to the case
            # since (a withdrawal, a recompute that moved the deadline), the transition is
            # refused, and the next run decides again on what is true then.
            action = Action(triggers[clock_name], version, reason=f"deadline of {clock_name} passed")
            try:
                transition_case(case_id, action, None)
                fired += 1
            except Conflict:
                db.session.rollback()  # the case moved on meanwhile: nothing to do
    return fired


@use_case
def close_cases_on_retired_records() -> int:
    """Open cases on a retired record end where their workflow says so (``on_record_retired``):
    there is nothing left to decide.

    Driven from the open cases (few) to their records; one transaction for all of them.
    """
    ending = {kind: w.on_record_retired for kind, w in CASE_WORKFLOWS.items() if w.on_record_retired}
    still_open = or_(*[and_(Case.kind == kind, Case.state.not_in(OPEN_DONE[kind])) for kind in ending])
    cases = db.session.execute(
        select(Case.id, Case.kind).join(CreditRecord, CreditRecord.id == Case.record_id)
        .where(still_open, CreditRecord.state == RecordState.RETIRED)
        .order_by(Case.id)
    ).all()
    for case_id, kind in cases:
        apply_transition(lock_case(case_id), Action(ending[kind], None, reason=RETIREMENT_REASON), None)
    db.session.commit()
    return len(cases)
