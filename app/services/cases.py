"""Queries and use cases about cases (objections, complaints, repairs)."""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Case, CaseNumberCounter
from app.models.enums import CASE_NUMBER_PREFIX, CaseKind

# Until the workflows define their final states, "open" means not in one of these.
CLOSED_STATES = ("closed", "withdrawn", "not_accepted", "lapsed")


def list_cases_of_subject(subject_id: int) -> list[Case]:
    stmt = (
        select(Case)
        .where(Case.subject_id == subject_id)
        .options(joinedload(Case.record))
        .order_by(Case.submitted_at.desc())
    )
    return list(db.session.scalars(stmt))


def list_open_cases(limit: int = 50, department_id: int | None = None, state: str | None = None) -> list[Case]:
    """Open cases, earliest deadline first (cases without a deadline last)."""
    stmt = (
        select(Case)
        .where(Case.state.not_in(CLOSED_STATES))
        .options(joinedload(Case.subject), joinedload(Case.assignee))
        .order_by(Case.due_at.is_(None), Case.due_at, Case.id)
        .limit(limit)
    )
    if department_id is not None:
        stmt = stmt.where(Case.department_id == department_id)
    if state is not None:
        stmt = stmt.where(Case.state == state)
    return list(db.session.scalars(stmt))


def count_open_cases(overdue_before=None) -> dict[tuple[str, str], int]:
    """Open cases per (kind, state); with ``overdue_before``, only those past their deadline."""
    stmt = select(Case.kind, Case.state, func.count()).where(Case.state.not_in(CLOSED_STATES))
    if overdue_before is not None:
        stmt = stmt.where(Case.due_at < overdue_before)
    stmt = stmt.group_by(Case.kind, Case.state)
    return {(kind, state): n for kind, state, n in db.session.execute(stmt)}


def next_case_number(kind: str, year: int) -> str:
    """Hand out the next number of the kind and year, e.g. YY-2026-000042.

    One atomic ``UPDATE ... RETURNING`` on the counter row: transactions asking at once are
    serialised by the row lock and never get the same number. The first number of a year
    inserts the row; if another transaction inserted it first, bump that one instead.
    """
    bump = (
        update(CaseNumberCounter)
        .where(CaseNumberCounter.kind == kind, CaseNumberCounter.year == year)
        .values(last=CaseNumberCounter.last + 1)
        .returning(CaseNumberCounter.last)
    )
    last = db.session.execute(bump).scalar()
    if last is None:
        try:
            with db.session.begin_nested():
                db.session.add(CaseNumberCounter(kind=kind, year=year, last=1))
            last = 1
        except IntegrityError:
            last = db.session.execute(bump).scalar_one()
    return f"{CASE_NUMBER_PREFIX[CaseKind(kind)]}-{year}-{last:06d}"
