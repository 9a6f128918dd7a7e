"""New records: built with their dates under the policy, entered by hand by a department."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.errors import InvalidInput
from app.extensions import db
from app.models import CreditRecord, RecordEvent
from app.models.enums import NameMismatchOrigin, SubjectNameSource
from app.models.record import EARLIEST_DECISION_DATE
from app.services.accounts.subjects import find_or_create_subject, note_subject_name
from app.services.calendar import get_working_calendar
from app.services.policy import compute_record_dates, get_policy_in_force
from app.services.transaction import use_case


def published_late(body: dict, decision_date, published_at, calendar=None) -> bool:
    """Provided after the publication deadline: N working days after the decision (双公示).

    Pass ``calendar`` when judging many records: fetching it checks the overrides each time.
    """
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
    policy = policy or get_policy_in_force()
    birth = getattr(subject, "birth_date", None)
    minor = birth is not None and (
        decision_date.year - birth.year - ((decision_date.month, decision_date.day) < (birth.month, birth.day))
    ) < 18
    dates = compute_record_dates(
        policy.body, severity, decision_date, sector=fields.get("sector"),
        publish_minor=publish_minor, subject_is_minor=minor, sanction_kinds=fields.get("sanction_kinds") or (),
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
    measure_until: object = None  # date: the last day of a blocking measure the decision imposes


@use_case
def enter_record(department, entry: NewRecord, actor) -> CreditRecord:
    """A department provides one record: dates from the policy, published, with its event."""
    if entry.decision_date > clock.today():
        raise InvalidInput(_l("The decision date is in the future."))
    if entry.decision_date < EARLIEST_DECISION_DATE:
        raise InvalidInput(_l("The decision date is implausibly early: decisions before %(day)s are not accepted.",
                              day=EARLIEST_DECISION_DATE.isoformat()))
    blank = [name for name in ("subject_name", "decision_number", "facts", "sanction")
             if not (getattr(entry, name) or "").strip()]
    if blank:
        raise InvalidInput(_l("Fill in the facts, the sanction, the decision number and the name: spaces alone "
                              "are not text."))
    duplicate = db.session.scalar(
        select(CreditRecord.id).where(
            CreditRecord.department_id == department.id, CreditRecord.decision_number == entry.decision_number.strip()
        )
    )
    if duplicate:
        raise InvalidInput(_l("Your department has already provided a record with this decision number."))
    subject, new = find_or_create_subject(entry.identifier, entry.subject_name, SubjectNameSource.DEPARTMENT)
    record = build_record(
        subject, department, severity=entry.severity, decision_date=entry.decision_date,
        publish_minor=entry.publish_minor, category=entry.category,
        decision_number=entry.decision_number.strip(), facts=entry.facts.strip(), sanction=entry.sanction.strip(),
        sanction_kinds=list(entry.sanction_kinds), sector=entry.sector or None, published_at=clock.now(),
        measure_until=entry.measure_until,
    )
    db.session.add(record)
    db.session.flush()
    if not new:
        note_subject_name(subject, entry.subject_name, NameMismatchOrigin.DEPARTMENT, department_id=department.id,
                          record_id=record.id)
    db.session.add(RecordEvent(record_id=record.id, seq=1, at=clock.now(), actor_id=actor.id, trigger="publish",
                               from_state=None, to_state=record.state, reason=None,
                               data={"withheld": record.withheld_reason} if record.withheld_reason else None))
    db.session.commit()
    return record
