"""The lifecycle of a record: every change goes through the record workflow and leaves a RecordEvent.

Steps inside the caller's transaction (a case transition or a job): none commits.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, text

from app import clock
from app.errors import InvalidInput
from app.extensions import db
from app.models import CreditRecord, RecordEvent
from app.models.base import UTCDateTime
from app.services.notices.outbox import enqueue
from workflows import RECORD, SYSTEM, RecordTrigger

CORRECTABLE_FIELDS = ("facts", "sanction", "decision_number")

def sql_names(names) -> str:
    """State or trigger names as SQL literals, for the set-based jobs' statements written as
    text: names of the record workflow, never input; literals, not parameters, so that the
    planner still matches the partial index on the states in publicity (migration 0004)."""
    return ", ".join(f"'{name}'" for name in names)


# One lifecycle event for each record in :ids, numbered after its last one; from_state is the
# record's state now, so run it before the statement that changes the state. For set-based jobs.
BULK_EVENTS = text(
    """
    INSERT INTO record_event (record_id, seq, at, trigger, from_state, to_state, reason)
    SELECT r.id, COALESCE((SELECT max(e.seq) FROM record_event e WHERE e.record_id = r.id), 0) + 1,
           :now, :trigger, r.state, :to_state, :reason
    FROM credit_record r WHERE r.id IN :ids
    """
).bindparams(bindparam("ids", expanding=True), bindparam("now", type_=UTCDateTime()))


def apply_record_trigger(
    record: CreditRecord, trigger: str, actor=None, reason: str | None = None, data: dict | None = None
) -> RecordEvent:
    """Fire a lifecycle trigger on a record (the system acts: records have no human actors)."""
    taken = RECORD.fire(record.state, trigger, SYSTEM, lambda guard: None)
    from_state = record.state
    record.state = taken.dest
    record.version += 1
    seq = (db.session.scalar(select(func.max(RecordEvent.seq)).where(RecordEvent.record_id == record.id)) or 0) + 1
    event = RecordEvent(
        record_id=record.id, seq=seq, at=clock.now(), actor_id=actor.id if actor else None,
        trigger=taken.trigger, from_state=from_state, to_state=taken.dest, reason=reason, data=data,
    )
    db.session.add(event)
    return event


def mark_under_objection(record: CreditRecord, actor, case) -> None:
    record.under_objection = True
    apply_record_trigger(record, RecordTrigger.MARK_OBJECTION, actor, data={"case": case.number})


def clear_objection_mark(record: CreditRecord, actor, case) -> None:
    record.under_objection = False
    apply_record_trigger(record, RecordTrigger.CLEAR_OBJECTION, actor, data={"case": case.number})


def correct_record(record: CreditRecord, corrections: dict, actor, case, reason) -> None:
    unknown = set(corrections) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise InvalidInput(_l("These fields cannot be corrected: %(fields)s", fields=", ".join(sorted(unknown))))
    before = {name: getattr(record, name) for name in corrections}
    for name, value in corrections.items():
        setattr(record, name, value)
    apply_record_trigger(
        record, RecordTrigger.CORRECT, actor, reason,
        {"case": case.number, "before": before, "after": dict(corrections)},
    )
    _tell_department(record, "record_corrected", case)


def revoke_record(record: CreditRecord, actor, case, reason) -> None:
    apply_record_trigger(record, RecordTrigger.REVOKE, actor, reason, {"case": case.number})
    _tell_department(record, "record_revoked", case)


def repair_record(record: CreditRecord, actor, case, reason) -> None:
    apply_record_trigger(record, RecordTrigger.REPAIR, actor, reason, {"case": case.number})
    _tell_department(record, "record_repaired", case)


def republish_record(record: CreditRecord, actor, case, reason) -> None:
    apply_record_trigger(record, RecordTrigger.REPUBLISH, actor, reason, {"case": case.number})
    _tell_department(record, "record_republished", case)


def _tell_department(record: CreditRecord, template: str, case) -> None:
    enqueue(
        f"{template}:{record.id}:{case.number}", template,
        {"record": record.decision_number, "case": case.number}, department_id=record.department_id,
    )
