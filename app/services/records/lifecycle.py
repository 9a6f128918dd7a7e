"""The lifecycle of a record: every change goes through the record workflow and leaves a RecordEvent.

Steps inside the caller's transaction (a case transition or a job): none commits.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, text

from app import clock
from app.errors import InvalidInput
from app.extensions import db
from app.models import CreditRecord, RecordEvent
from app.models.base import UTCDateTime
from app.models.enums import RecordClass
from app.services.notices.outbox import enqueue
from app.services.policy import compute_record_dates, get_policy
from workflows import RECORD, SYSTEM, RecordTrigger

# What a correction may change. The decision number names the record (a department provides
# each decision once): a wrong number is a revocation and a new record, not a correction.
CORRECTABLE_FIELDS = ("facts", "sanction", "sanction_kinds", "severity", "decision_date")
TEXT_LIMITS = {"facts": 4000, "sanction": 2000}
SANCTION_KINDS = {"warning", "fine", "confiscation", "listing", "licence_revoked", "business_restricted",
                  "employment_restricted"}
# Where a correction came from, kept on its event: an objection's decision, the department's
# record page, an import row, an API push.
OBJECTION, DEPARTMENT_PAGE, IMPORT, API = "objection", "department", "import", "api"
NOTHING_TO_CORRECT = _l("The correction changes nothing: give the corrected facts, sanction, class or decision date.")

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
    # str(): a record built in this session holds the RecordState member, not its name.
    taken = RECORD.fire(str(record.state), trigger, SYSTEM, lambda guard: None)
    from_state = record.state
    record.state = taken.dest
    record.version += 1
    if record.id is None:
        db.session.flush()  # a record built in this transaction: its id first
    event = RecordEvent(
        record_id=record.id, seq=next_event_seq(record.id), at=clock.now(), actor_id=actor.id if actor else None,
        trigger=taken.trigger, from_state=from_state, to_state=taken.dest, reason=reason, data=data,
    )
    db.session.add(event)
    return event


def next_event_seq(record_id: int):
    """The record's next event number, computed in the event's own INSERT (one round trip, not a
    look-up first) and read back with RETURNING (``EventColumns.seq``). The statement comes after
    the record's UPDATE in the same flush, whose row lock orders the writers of one record."""
    return (select(func.coalesce(func.max(RecordEvent.seq), 0) + 1)
            .where(RecordEvent.record_id == record_id).scalar_subquery())


def mark_under_objection(record: CreditRecord, actor, case) -> None:
    record.under_objection = True
    apply_record_trigger(record, RecordTrigger.MARK_OBJECTION, actor, data={"case": case.number})


def clear_objection_mark(record: CreditRecord, actor, case) -> None:
    record.under_objection = False
    apply_record_trigger(record, RecordTrigger.CLEAR_OBJECTION, actor, data={"case": case.number})


def check_corrections(record: CreditRecord, proposed: dict) -> dict:
    """The proposed fields that differ from the record, checked, as JSON values (a date as
    YYYY-MM-DD). Blank texts and empty choices leave a field as it is. Raises InvalidInput."""
    unknown = set(proposed) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise InvalidInput(_l("These fields cannot be corrected: %(fields)s", fields=", ".join(sorted(unknown))))
    changes: dict = {}
    for name, value in proposed.items():
        if name in TEXT_LIMITS:
            value = (value or "").strip()
            if len(value) > TEXT_LIMITS[name]:
                raise InvalidInput(_l("The corrected text is too long (at most %(n)d characters).",
                                      n=TEXT_LIMITS[name]))
            if value and value != getattr(record, name):
                changes[name] = value
        elif name == "sanction_kinds":
            kinds = list(dict.fromkeys(str(k).strip() for k in (value or ()) if str(k).strip()))
            wrong = [k for k in kinds if k not in SANCTION_KINDS]
            if wrong:
                raise InvalidInput(_l("Unknown kinds of sanction: %(value)s", value=", ".join(wrong)[:80]))
            if set(kinds) != set(record.sanction_kinds or ()):
                changes[name] = kinds
        elif name == "severity":
            if value and value not in {c.value for c in RecordClass}:
                raise InvalidInput(_l("The class must be minor, general or serious (轻微, 一般, 严重)."))
            if value and value != record.severity:
                changes[name] = str(value)
        elif name == "decision_date" and value:
            if isinstance(value, str):
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    raise InvalidInput(_l("Not a date; use YYYY-MM-DD.")) from None
            if value > clock.today():
                raise InvalidInput(_l("The decision date is in the future."))
            if value != record.decision_date:
                changes[name] = value.isoformat()
    if DATED.intersection(changes):
        decided = date.fromisoformat(changes["decision_date"]) if "decision_date" in changes else record.decision_date
        dates = _dates_under_policy(record, changes.get("severity", record.severity), decided,
                                    kinds=changes.get("sanction_kinds", record.sanction_kinds))
        if dates.publicity_end < clock.today():
            raise InvalidInput(_l("With this class or decision date the record's publicity would already have "
                                  "ended; revoke the record instead."))
    return changes


def correct_record(
    record: CreditRecord, corrections: dict, actor, reason: str | None, *, case=None, source: str = OBJECTION
) -> RecordEvent:
    """A new version of the record's content through the record workflow: one event with
    before and after; the dates recomputed under the record's policy version when the class
    or the decision date changed. Raises InvalidInput when nothing changes or a value is wrong."""
    changes = check_corrections(record, corrections)
    if not changes:
        raise InvalidInput(NOTHING_TO_CORRECT)
    before = {name: _as_json(getattr(record, name)) for name in changes}
    for name, value in changes.items():
        setattr(record, name, date.fromisoformat(value) if name == "decision_date" else value)
    after = dict(changes)
    if DATED.intersection(changes):
        _recompute_dates(record, before, after)
    data = {"source": source, "before": before, "after": after}
    if case is not None:
        data["case"] = case.number
    event = apply_record_trigger(record, RecordTrigger.CORRECT, actor, reason, data)
    enqueue(
        f"record_corrected:{record.id}:{case.number if case is not None else f'v{record.version}'}",
        "record_corrected",
        {"record": record.decision_number, "case": case.number if case is not None else "—", "source": source},
        department_id=record.department_id,
    )
    return event


DATE_FIELDS = ("publicity_start", "shortest_publicity_end", "publicity_end")
DATED = {"severity", "decision_date", "sanction_kinds"}  # the fields the dates depend on (with the sector)


def _dates_under_policy(record: CreditRecord, severity: str, decided: date, was_minor_public: bool | None = None,
                        kinds=None):
    """The record's dates for this class and decision day under the policy version it was
    computed under (a later version applies only by an admin's recompute). A minor offence
    published by the department's choice stays published; one that becomes minor follows the
    policy."""
    if was_minor_public is None:
        was_minor_public = record.severity == RecordClass.MINOR and record.is_public
    birth = getattr(record.subject, "birth_date", None)
    minor_subject = birth is not None and (
        decided.year - birth.year - ((decided.month, decided.day) < (birth.month, birth.day))) < 18
    return compute_record_dates(
        get_policy(record.policy_version).body, severity, decided, sector=record.sector,
        publish_minor=was_minor_public, subject_is_minor=minor_subject,
        sanction_kinds=tuple(record.sanction_kinds or ()) if kinds is None else tuple(kinds),
    )


def _recompute_dates(record: CreditRecord, before: dict, after: dict) -> None:
    """Called with the record's class and decision date already corrected; ``before`` holds the old class."""
    was_minor_public = before.get("severity", record.severity) == RecordClass.MINOR and record.is_public
    dates = _dates_under_policy(record, record.severity, record.decision_date, was_minor_public)
    for name in DATE_FIELDS:
        if getattr(record, name) != getattr(dates, name):
            before[name] = getattr(record, name).isoformat()
            after[name] = getattr(dates, name).isoformat()
            setattr(record, name, getattr(dates, name))
    if (record.is_public, record.withheld_reason) != (dates.is_public, dates.withheld_reason):
        before["is_public"], after["is_public"] = record.is_public, dates.is_public
        record.is_public, record.withheld_reason = dates.is_public, dates.withheld_reason


def _as_json(value):
    return value.isoformat() if isinstance(value, date) else (list(value) if isinstance(value, list) else value)


def revoke_record(record: CreditRecord, actor, case, reason, source: str = OBJECTION) -> None:
    """Withdraw the record from publicity: by an objection's decision (``case``), or by its
    department outside any case (``case`` None)."""
    if case is not None:
        apply_record_trigger(record, RecordTrigger.REVOKE, actor, reason, {"case": case.number})
        _tell_department(record, "record_revoked", case)
        return
    apply_record_trigger(record, RecordTrigger.REVOKE, actor, reason, {"source": source})
    enqueue(f"record_revoked:{record.id}:v{record.version}", "record_revoked",
            {"record": record.decision_number, "case": "—", "source": source}, department_id=record.department_id)


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
