"""Look-ups of credit records: a subject's, a department's, the public query, counts."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import clock
from app.extensions import db
from app.models import CreditRecord, Department, RecordEvent, Subject
from app.services.records.public_query import records_in_publicity
from workflows import RecordState, RecordTrigger


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


def list_records_page(department_id: int, after: int = 0, limit: int = 100) -> tuple[list[CreditRecord], int | None]:
    """A department's records, oldest first, one keyset page after the id ``after``; and the
    ``after`` of the next page (None on the last one)."""
    rows = db.session.scalars(
        select(CreditRecord).where(CreditRecord.department_id == department_id, CreditRecord.id > after)
        .order_by(CreditRecord.id).limit(limit + 1)
    ).all()
    page = list(rows[:limit])
    return page, page[-1].id if len(rows) > limit else None


def find_record_of_department(department_id: int, record_id: int) -> CreditRecord | None:
    """One of the department's records; another department's is as good as absent (None)."""
    record = db.session.get(CreditRecord, record_id)
    return record if record is not None and record.department_id == department_id else None


def find_record_of_subject(subject_id: int, record_id: int) -> CreditRecord | None:
    """One of the subject's records; another subject's is as good as absent (None)."""
    record = db.session.get(CreditRecord, record_id)
    return record if record is not None and record.subject_id == subject_id else None


def count_records_by_state(department_id: int | None = None) -> dict[str, int]:
    stmt = select(CreditRecord.state, func.count()).group_by(CreditRecord.state)
    if department_id is not None:
        stmt = stmt.where(CreditRecord.department_id == department_id)
    return dict(db.session.execute(stmt).all())


def find_public_records(identifier: str) -> tuple[Subject | None, list[CreditRecord]]:
    """The subject of an identifier and its records in publicity today, and nothing else.

    Withheld records (minors, minor offences not published), records before their publicity
    starts or after it ends, and repaired, revoked, retired or purged ones are never shown.
    The filter of records only: what a stranger may see on the public page (whose name, which
    subjects at all) is ``query_public_records``'s business.
    """
    subject = db.session.scalar(select(Subject).where(Subject.identifier == identifier))
    if subject is None:
        return None, []
    return subject, records_in_publicity(subject.id)


def list_correction_days(records) -> dict[int, date]:
    """The day each corrected record was last corrected (local time), by record id: the
    "corrected" mark of the public query and the record pages."""
    ids = [r.id for r in records if r.state == RecordState.CORRECTED]
    if not ids:
        return {}
    rows = db.session.execute(
        select(RecordEvent.record_id, func.max(RecordEvent.at))
        .where(RecordEvent.record_id.in_(ids), RecordEvent.trigger == RecordTrigger.CORRECT)
        .group_by(RecordEvent.record_id)
    ).all()
    return {record_id: clock.local(at).date() for record_id, at in rows}


def count_late_publications(days: int = 90) -> list[tuple[str, int, int]]:
    """Per department: records provided in the last ``days`` days, and how many of them late."""
    since = clock.now() - timedelta(days=days)
    rows = db.session.execute(
        select(Department.name, func.count(), func.sum(when((CreditRecord.published_late.is_(True), 1), else_=0)))
        .join(CreditRecord, CreditRecord.department_id == Department.id)
        .where(CreditRecord.published_at >= since)
        .group_by(Department.name)
        .order_by(Department.name)
    ).all()
    return [(name, total, int(late or 0)) for name, total, late in rows]
