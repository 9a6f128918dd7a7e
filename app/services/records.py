"""Queries and use cases about credit records."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import joinedload

from app.errors import InvalidInput
from app.extensions import db
from app.models import CreditRecord, RecordEvent
from app.models.base import UTCDateTime
from app.services import clock, notify
from workflows import RECORD, SYSTEM


def list_records_of_subject(subject_id: int) -> list[CreditRecord]:
    """Every record about one subject, newest decision first (the subject's right to know)."""
    stmt = (
        select(CreditRecord)
        .where(CreditRecord.subject_id == subject_id)
        .options(joinedload(CreditRecord.department))
        .order_by(CreditRecord.decision_date.desc(), CreditRecord.id.desc())
    )
    return list(db.session.scalars(stmt))


def list_records_of_department(department_id: int, limit: int = 50) -> list[CreditRecord]:
    stmt = (
        select(CreditRecord)
        .where(CreditRecord.department_id == department_id)
        .options(joinedload(CreditRecord.subject))
        .order_by(CreditRecord.decision_date.desc(), CreditRecord.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def count_records_by_state(department_id: int | None = None) -> dict[str, int]:
    stmt = select(CreditRecord.state, func.count()).group_by(CreditRecord.state)
    if department_id is not None:
        stmt = stmt.where(CreditRecord.department_id == department_id)
    return dict(db.session.execute(stmt).all())


# ---------------------------------------------------------------------------------------
# Lifecycle: every change goes through the record workflow and leaves a RecordEvent.
# These run inside the caller's transaction (a case transition or a job); none commits.
# ---------------------------------------------------------------------------------------

CORRECTABLE_FIELDS = ("facts", "sanction", "decision_number")

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
        trigger=trigger, from_state=from_state, to_state=taken.dest, reason=reason, data=data,
    )
    db.session.add(event)
    return event


def mark_under_objection(record: CreditRecord, actor, case) -> None:
    record.under_objection = True
    apply_record_trigger(record, "mark_objection", actor, data={"case": case.number})


def clear_objection_mark(record: CreditRecord, actor, case) -> None:
    record.under_objection = False
    apply_record_trigger(record, "clear_objection", actor, data={"case": case.number})


def correct_record(record: CreditRecord, corrections: dict, actor, case, reason) -> None:
    unknown = set(corrections) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise InvalidInput(_l("These fields cannot be corrected: %(fields)s", fields=", ".join(sorted(unknown))))
    before = {name: getattr(record, name) for name in corrections}
    for name, value in corrections.items():
        setattr(record, name, value)
    apply_record_trigger(
        record, "correct", actor, reason,
        {"case": case.number, "before": before, "after": dict(corrections)},
    )
    _tell_department(record, "record_corrected", case)


def revoke_record(record: CreditRecord, actor, case, reason) -> None:
    apply_record_trigger(record, "revoke", actor, reason, {"case": case.number})
    _tell_department(record, "record_revoked", case)


def repair_record(record: CreditRecord, actor, case, reason) -> None:
    apply_record_trigger(record, "repair", actor, reason, {"case": case.number})
    _tell_department(record, "record_repaired", case)


def republish_record(record: CreditRecord, actor, case, reason) -> None:
    apply_record_trigger(record, "republish", actor, reason, {"case": case.number})
    _tell_department(record, "record_republished", case)


def _tell_department(record: CreditRecord, template: str, case) -> None:
    notify.enqueue(
        f"{template}:{record.id}:{case.number}", template,
        {"record": record.decision_number, "case": case.number}, department_id=record.department_id,
    )


def published_late(body: dict, decision_date, published_at, calendar=None) -> bool:
    """Provided after the publication deadline: N working days after the decision (双公示).

    Pass ``calendar`` when judging many records: fetching it checks the overrides each time.
    """
    from app.services.calendar import get_working_calendar

    days = int(body.get("publication_deadline", {}).get("wd", 7))
    try:
        deadline = (calendar or get_working_calendar()).add_working_days(decision_date, days)
    except ValueError:  # a decision older than the calendar's span: too old to judge, and late anyway
        return True
    return clock.local(published_at).date() > deadline


def build_record(
    subject,
    department,
    *,
    severity: str,
    decision_date,
    publish_minor: bool = False,
    policy=None,
    **fields,
) -> CreditRecord:
    """A new record with its three dates and visibility computed under the policy in force.

    Records about persons who were minors on the decision date are never public. Not added
    to the session: the caller decides (single entry, import, demo data).
    """
    from app.services.policy import compute_record_dates, get_policy_in_force

    policy = policy or get_policy_in_force()
    birth = getattr(subject, "birth_date", None)
    minor = birth is not None and (
        decision_date.year - birth.year - ((decision_date.month, decision_date.day) < (birth.month, birth.day))
    ) < 18
    dates = compute_record_dates(
        policy.body, severity, decision_date, sector=fields.get("sector"),
        publish_minor=publish_minor, subject_is_minor=minor,
    )
    published_at = fields.pop("published_at", None) or clock.now()
    return CreditRecord(
        subject=subject,
        department=department,
        severity=severity,
        decision_date=decision_date,
        published_at=published_at,
        published_late=published_late(policy.body, decision_date, published_at),
        publicity_start=dates.publicity_start,
        shortest_publicity_end=dates.shortest_publicity_end,
        publicity_end=dates.publicity_end,
        is_public=dates.is_public,
        withheld_reason=dates.withheld_reason,
        policy_version=policy.version,
        **fields,
    )


def find_public_records(identifier: str) -> tuple[object | None, list[CreditRecord]]:
    """The public query: the subject and its records in publicity today, and nothing else.

    Withheld records (minors, minor offences not published), records before their publicity
    starts or after it ends, and repaired, revoked, retired or purged ones are never shown.
    """
    from app.models import Subject

    subject = db.session.scalar(select(Subject).where(Subject.identifier == identifier))
    if subject is None:
        return None, []
    today = clock.today()
    records = db.session.scalars(
        select(CreditRecord)
        .where(
            CreditRecord.subject_id == subject.id,
            CreditRecord.is_public.is_(True),
            CreditRecord.state.in_(("published", "corrected")),
            CreditRecord.publicity_start <= today,
            CreditRecord.publicity_end >= today,
        )
        .options(joinedload(CreditRecord.department))
        .order_by(CreditRecord.decision_date.desc(), CreditRecord.id.desc())
    ).all()
    return subject, list(records)


@dataclass(frozen=True)
class NewRecord:
    identifier: object  # app.identifiers.Identifier, validated
    subject_name: str
    category: str
    severity: str
    decision_number: str
    decision_date: object
    facts: str
    sanction: str
    sanction_kinds: tuple[str, ...] = ()
    sector: str | None = None
    publish_minor: bool = False


def enter_record(department, entry: NewRecord, actor) -> CreditRecord:
    """A department provides one record: dates from the policy, published, with its event."""
    from app.models import Subject

    if entry.decision_date > clock.today():
        raise InvalidInput(_l("The decision date is in the future."))
    duplicate = db.session.scalar(
        select(CreditRecord.id).where(
            CreditRecord.department_id == department.id, CreditRecord.decision_number == entry.decision_number.strip()
        )
    )
    if duplicate:
        raise InvalidInput(_l("Your department has already provided a record with this decision number."))
    subject = db.session.scalar(select(Subject).where(Subject.identifier == entry.identifier.value))
    if subject is None:
        subject = Subject(kind=entry.identifier.kind, identifier=entry.identifier.value,
                          name=entry.subject_name.strip(), birth_date=entry.identifier.birth_date)
        db.session.add(subject)
        db.session.flush()
    record = build_record(
        subject, department, severity=entry.severity, decision_date=entry.decision_date,
        publish_minor=entry.publish_minor, category=entry.category,
        decision_number=entry.decision_number.strip(), facts=entry.facts.strip(), sanction=entry.sanction.strip(),
        sanction_kinds=list(entry.sanction_kinds), sector=entry.sector or None, published_at=clock.now(),
    )
    db.session.add(record)
    db.session.flush()
    db.session.add(RecordEvent(record_id=record.id, seq=1, at=clock.now(), actor_id=actor.id, trigger="publish",
                               from_state=None, to_state=record.state, reason=None,
                               data={"withheld": record.withheld_reason} if record.withheld_reason else None))
    db.session.commit()
    return record


def count_late_publications(days: int = 90) -> list[tuple[str, int, int]]:
    """Per department: records provided in the last ``days`` days, and how many of them late."""
    from datetime import timedelta

    from sqlalchemy import case as when

    from app.models import Department

    since = clock.now() - timedelta(days=days)
    rows = db.session.execute(
        select(Department.name, func.count(), func.sum(when((CreditRecord.published_late.is_(True), 1), else_=0)))
        .join(CreditRecord, CreditRecord.department_id == Department.id)
        .where(CreditRecord.published_at >= since)
        .group_by(Department.name)
        .order_by(Department.name)
    ).all()
    return [(name, total, int(late or 0)) for name, total, late in rows]
