"""Filing an objection, repair or complaint: checks, numbering, first event, first clocks."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Case, CaseEvent, CaseNumberCounter, CreditRecord, User
from app.models.enums import CASE_NUMBER_PREFIX, IN_PUBLICITY, CaseKind, Role
from app.services.binding.queries import is_verified_for
from app.services.cases import files
from app.services.cases.effects import mark_record_under_objection
from app.services.cases.guards import repair_eligibility
from app.services.cases.history import attach
from app.services.cases.refusals import REFUSALS, reason_text
from app.services.notices.outbox import enqueue
from app.services.policy import get_policy_in_force
from app.services.sla.timers import insert_timers, start_timers
from app.services.transaction import use_case
from workflows import CASE_WORKFLOWS


@dataclass
class Submission:
    kind: str
    title: str
    statement: str
    record_id: int | None = None
    department_id: int | None = None  # complaints about a department
    about_case_id: int | None = None  # a complaint about the handling of this (own) case
    uploads: list[files.Upload] = field(default_factory=list)
    form_token: str | None = None  # the form's one-time token: a second POST of it files nothing
    confirmed: bool = False  # "submit anyway": a repeat complaint the applicant confirmed


# A second complaint about the same object within this many minutes asks for confirmation
# (policy ``complaint.repeat_window_minutes``).
REPEAT_COMPLAINT_MINUTES = 10


class AlreadySubmitted(Conflict):
    """The same form was sent again: ``case`` is the one its first POST filed."""

    def __init__(self, case: Case):
        super().__init__(_l("This form was already sent: this is the application it filed."))
        self.case = case


class OpenCaseExists(Conflict):
    """A record takes one open objection and one open repair per subject: ``case`` is it."""

    def __init__(self, case_id: int, number: str):
        super().__init__(_l("An application of this kind on this record is already open: %(number)s.", number=number))
        self.case_id, self.number = case_id, number


class RepeatComplaint(Conflict):
    """A complaint about the same object was filed a moment ago: ``case`` is it."""

    def __init__(self, case_id: int, number: str):
        super().__init__(_l("You filed a complaint about the same matter a few minutes ago (%(number)s). "
                            "Tick “Submit anyway” to file another.", number=number))
        self.case_id, self.number = case_id, number


def form_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_open_case(subject_id: int, record_id: int, kind: str) -> tuple[int, str] | None:
    """The open objection or repair (id, number) of the subject on the record, if there is one."""
    row = db.session.execute(
        select(Case.id, Case.number).where(
            Case.subject_id == subject_id, Case.record_id == record_id, Case.kind == kind,
            Case.closed_at.is_(None),
        )
    ).first()
    return tuple(row) if row else None


@use_case
def submit_case(applicant: User, submission: Submission) -> Case:
    """File an objection, repair or complaint for the applicant's own subject."""
    if applicant.role != Role.APPLICANT or applicant.subject_id is None:
        raise Forbidden(_l("Only a credit subject's account may submit applications."))
    if not is_verified_for(applicant, applicant.subject_id):
        raise Forbidden(_l("Your account is not yet verified for this subject: nothing can be filed in its name."))
    kind = CaseKind(submission.kind)
    if not (submission.title or "").strip() or not (submission.statement or "").strip():
        raise InvalidInput(_l("Give a title and a statement: spaces alone are not text."))
    about_case = None
    if submission.about_case_id is not None:
        if kind != CaseKind.COMPLAINT:
            raise InvalidInput(_l("Only a complaint may be about the handling of another case."))
        about_case = db.session.get(Case, submission.about_case_id)
        if about_case is None or about_case.subject_id != applicant.subject_id:
            raise NotFound()  # another subject's case is as good as absent
    token_hash = form_token_hash(submission.form_token) if submission.form_token else None
    if token_hash is not None and kind != CaseKind.OBJECTION:
        # Before the checks that would refuse a repeat of the form as something else (a repeat
        # complaint, an open repair). An objection has none: the unique index on the token
        # refuses its repeat at the insert, one round trip less.
        _refuse_duplicate(applicant, None, None, token_hash)
    record = None
    if submission.record_id is not None:
        record = db.session.get(CreditRecord, submission.record_id)
        if record is None or record.subject_id != applicant.subject_id:
            raise NotFound()  # another subject's record is as good as absent
    if kind in (CaseKind.OBJECTION, CaseKind.REPAIR) and record is None:
        raise InvalidInput(_l("Choose the record this application is about."))
    if kind == CaseKind.OBJECTION and record.state not in IN_PUBLICITY:
        raise InvalidInput(REFUSALS["record_not_in_publicity"])
    if kind == CaseKind.REPAIR:  # named before the eligibility check, which would refuse it less clearly
        open_case = find_open_case(applicant.subject_id, record.id, kind)
        if open_case is not None:
            raise OpenCaseExists(*open_case)
    if kind == CaseKind.COMPLAINT and not submission.confirmed:
        repeat = _recent_complaint(applicant.subject_id, record, submission.department_id, submission.about_case_id)
        if repeat is not None:
            raise RepeatComplaint(*repeat)
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
        number=case_number(kind, clock.local(now).year),
        kind=kind,
        state=workflow.initial,
        subject_id=applicant.subject_id,
        record=record,
        applicant=applicant,
        department_id=record.department_id if record else submission.department_id,
        about_case_id=about_case.id if about_case else None,
        policy_version=policy.version,
        title=submission.title.strip(),
        statement=submission.statement.strip(),
        submitted_at=now,
        form_token_hash=token_hash,
    )
    # Its clocks and deadline before the insert: the case goes in with its deadline, its timers
    # after it in one statement, and nothing is updated after.
    timers = start_timers(case, workflow.initial)
    db.session.add(case)
    try:
        db.session.flush()
    except IntegrityError:
        # The record has an open case of the kind, or a concurrent POST of the same form won the
        # race: the unique indexes refused this one (no check before it: one round trip less, and
        # no race between a check and the insert); say which case stands.
        db.session.rollback()
        _refuse_duplicate(applicant, kind, record, token_hash)
        raise
    insert_timers(case, timers)
    # The first event of a new case: its sequence number is 1 (``append_event`` computes it in the INSERT).
    db.session.add(CaseEvent(case_id=case.id, seq=1, at=now, actor_id=applicant.id, trigger="submit",
                             from_state=None, to_state=workflow.initial))
    if workflow.state(workflow.initial).carries_objection_mark:
        mark_record_under_objection(case, applicant)  # on receipt, in the same transaction
    # The files late: on the database backend storing one writes its row (``stored_blob``), which
    # an identical file of a concurrent submission waits for until this commit.
    for upload, content_type in zip(submission.uploads, content_types, strict=True):
        attach(case, applicant, upload, content_type)
    enqueue(
        f"case-submitted:{case.id}", "case_submitted", {"case": case.number},
        user_id=applicant.id,
    )
    case_id, number = case.id, case.number
    db.session.commit()
    # What the caller shows next (the number, the link) is what was just committed: no reload.
    set_committed_value(case, "id", case_id)
    set_committed_value(case, "number", number)
    return case


def _refuse_duplicate(applicant: User, kind: str, record: CreditRecord | None, token_hash: str | None) -> None:
    """Raise what stands in the way of a new case: the case this form filed already, or (for an
    insert the indexes refused) the open case of the kind on the record. Nothing if neither."""
    if token_hash is not None:
        first = db.session.scalar(select(Case).where(Case.form_token_hash == token_hash))
        if first is not None:
            if first.applicant_id != applicant.id:
                raise InvalidInput(_l("This form can no longer be used. Open it again."))
            raise AlreadySubmitted(first)
    if kind in (CaseKind.OBJECTION, CaseKind.REPAIR):
        open_case = find_open_case(applicant.subject_id, record.id, kind)
        if open_case is not None:
            raise OpenCaseExists(*open_case)


def _recent_complaint(subject_id: int, record: CreditRecord | None, department_id: int | None,
                      about_case_id: int | None):
    """A complaint of the subject about the same object (the record, or else the department; and
    the same case complained of, if any) filed within the window."""
    minutes = get_policy_in_force().body.get("complaint", {}).get("repeat_window_minutes", REPEAT_COMPLAINT_MINUTES)
    about = Case.record_id == record.id if record is not None else (
        (Case.record_id.is_(None)) & (Case.department_id == department_id))
    about = about & (Case.about_case_id == about_case_id)
    row = db.session.execute(
        select(Case.id, Case.number).where(
            Case.subject_id == subject_id, Case.kind == CaseKind.COMPLAINT, about,
            Case.submitted_at >= clock.now() - timedelta(minutes=minutes),
        ).order_by(Case.id.desc())
    ).first()
    return tuple(row) if row else None


def case_number(kind: str, year: int):
    """The number of a new case of the kind and year, e.g. YY-2026-000042, as the case's INSERT takes it.

    PostgreSQL: the SQL that draws it in that INSERT, ``case_number_next`` (migration 0034),
    read back with RETURNING (``Case.number``): ``nextval`` of the sequence of the kind and
    year, which never makes another transaction wait (a row counter is locked from its update
    to the commit, and writers queue on it); the first case of a year creates the sequence.
    Numbers stay unique and in order; a transaction that rolls back after taking one leaves a
    gap (numbers name cases, they do not count them; DESIGN.md asks for no more).

    SQLite: the number itself, from one atomic ``UPDATE ... RETURNING`` on the counter row
    (SQLite has one writer at a time anyway). The first number of a year inserts the row; if
    another transaction inserted it first, bump that one instead.
    """
    prefix = CASE_NUMBER_PREFIX[CaseKind(kind)]
    if db.session.get_bind().dialect.name == "postgresql":
        return func.case_number_next(CaseKind(kind).value, int(year), prefix, type_=String)
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
    return f"{prefix}-{year}-{last:06d}"


def next_case_number(kind: str, year: int) -> str:
    """Hand out the next number of the kind and year (``case_number``, asked for on its own)."""
    number = case_number(kind, year)
    return number if isinstance(number, str) else db.session.scalar(select(number))
