"""Queries and use cases about credit records."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import CreditRecord


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
