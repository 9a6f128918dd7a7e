"""Who may see a case, and the look-ups that apply it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.errors import NotFound
from app.extensions import db
from app.models import Case, User
from app.models.enums import Role
from app.services.binding.queries import is_verified_for
from workflows import CASE_WORKFLOWS, DEPARTMENT, HANDLER


def can_view(user: User, case: Case) -> bool:
    """A subject's verified accounts see its cases, a department the cases put before it (from the
    transition that ``refers`` them on: ``Case.referred_at``), staff all."""
    if user.role in (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN):
        return True
    if user.role == Role.APPLICANT:
        # Any account verified for the case's subject, asked on each request: an ended binding sees nothing.
        return is_verified_for(user, case.subject_id)
    if user.role == Role.DEPARTMENT:
        return (case.department_id is not None and user.department_id == case.department_id
                and case.referred_at is not None)
    return False


def waits_for_its_department(case: Case) -> bool:
    """The case waits for its department's answer: its state waits for the department, or for the
    handler of a complaint handed to the department rather than to an officer (the SQL twin is
    ``queues.waiting_for_department``)."""
    party = CASE_WORKFLOWS[case.kind].state(case.state).waits_for
    return party == DEPARTMENT or (party == HANDLER and case.assignee_id is None)


def get_case_for(user: User, case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or not can_view(user, case):
        raise NotFound()
    return case


def list_cases_of_subject(subject_id: int) -> list[Case]:
    stmt = (
        select(Case)
        .where(Case.subject_id == subject_id)
        .options(joinedload(Case.record))
        .order_by(Case.submitted_at.desc())
    )
    return list(db.session.scalars(stmt))
