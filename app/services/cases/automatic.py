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
from app.models.enums import CaseKind, RecordState, TimerStatus
from app.services.cases.guards import OPEN_DONE
from app.services.cases.transitions import Action, apply_transition, lock_case, transition_case
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
        due = db.session.execute(
            select(Timer.case_id, Timer.clock).join(Case, Case.id == Timer.case_id).where(
                Case.kind == kind, Timer.clock.in_(triggers), Timer.status == TimerStatus.RUNNING,
                Timer.due_at < now,
            ).order_by(Timer.due_at, Timer.case_id)
        ).all()
        db.session.rollback()  # end the read before the writes, each in its own transaction
        for case_id, clock_name in due:
            action = Action(triggers[clock_name], None, reason=f"deadline of {clock_name} passed")
            try:
                transition_case(case_id, action, None)
                fired += 1
            except Conflict:
                db.session.rollback()  # the case moved on meanwhile: nothing to do
    return fired


def close_cases_on_retired_records() -> int:
    """Open objections and repairs on a retired record end: there is nothing left to decide.

    Driven from the open cases (few) to their records; one transaction for all of them.
    """
    still_open = or_(*[
        and_(Case.kind == kind, Case.state.not_in(OPEN_DONE[kind])) for kind in (CaseKind.OBJECTION, CaseKind.REPAIR)
    ])
    case_ids = db.session.scalars(
        select(Case.id).join(CreditRecord, CreditRecord.id == Case.record_id)
        .where(still_open, CreditRecord.state == RecordState.RETIRED)
        .order_by(Case.id)
    ).all()
    for case_id in case_ids:
        apply_transition(lock_case(case_id), Action("close_on_retirement", None, reason=RETIREMENT_REASON), None)
    db.session.commit()
    return len(case_ids)
