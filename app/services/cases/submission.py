"""Filing an objection, repair or complaint: checks, numbering, first event, first clocks."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Case, CaseNumberCounter, CreditRecord, User
from app.models.enums import CASE_NUMBER_PREFIX, IN_PUBLICITY, CaseKind, Role
from app.services.cases import files
from app.services.cases.guards import repair_eligibility
from app.services.cases.history import append_event, attach
from app.services.cases.refusals import REFUSALS, reason_text
from app.services.notices.outbox import enqueue
from app.services.policy import get_policy_in_force
from app.services.sla.timers import sync_timers
from app.services.transaction import use_case
from workflows import CASE_WORKFLOWS


@dataclass
class Submission:
    kind: str
    title: str
    statement: str
    record_id: int | None = None
    department_id: int | None = None  # complaints about a department
    uploads: list[files.Upload] = field(default_factory=list)


@use_case
def submit_case(applicant: User, submission: Submission) -> Case:
    """File an objection, repair or complaint for the applicant's own subject."""
    if applicant.role != Role.APPLICANT or applicant.subject_id is None:
        raise Forbidden(_l("Only a credit subject's account may submit applications."))
    kind = CaseKind(submission.kind)
    record = None
    if submission.record_id is not None:
        record = db.session.get(CreditRecord, submission.record_id)
        if record is None or record.subject_id != applicant.subject_id:
            raise NotFound()  # another subject's record is as good as absent
    if kind in (CaseKind.OBJECTION, CaseKind.REPAIR) and record is None:
        raise InvalidInput(_l("Choose the record this application is about."))
    if kind == CaseKind.OBJECTION and record.state not in IN_PUBLICITY:
        raise InvalidInput(REFUSALS["record_not_in_publicity"])
    content_types = [files.check_upload(u) for u in submission.uploads]
    if kind == CaseKind.REPAIR:
        purposes = {u.purpose for u in submission.uploads}
        problems = repair_eligibility(record, purposes)
        if problems:
            raise InvalidInput("; ".join(reason_text(p) for p in problems))

    policy = get_policy_in_force()
    now = clock.now()
    workflow = CASE_WORKFLOWS[kind]
    case = Case(
        number=next_case_number(kind, clock.local(now).year),
        kind=kind,
        state=workflow.initial,
        subject_id=applicant.subject_id,
        record=record,
        applicant=applicant,
        department_id=record.department_id if record else submission.department_id,
        policy_version=policy.version,
        title=submission.title.strip(),
        statement=submission.statement.strip(),
        submitted_at=now,
    )
    db.session.add(case)
    db.session.flush()
    for upload, content_type in zip(submission.uploads, content_types, strict=True):
        attach(case, applicant, upload, content_type)
    append_event(case, applicant, "submit", None, workflow.initial, None, None)
    sync_timers(case, workflow.initial)
    enqueue(
        f"case-submitted:{case.id}", "case_submitted", {"case": case.number},
        user_id=applicant.id,
    )
    db.session.commit()
    return case



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
