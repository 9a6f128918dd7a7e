"""Cases (objections, complaints, repairs): submission, transitions, queries.

Every state change goes through the workflow in ``workflows/``: the service loads the case,
checks the version the user saw, asks the workflow whether the trigger is allowed (role,
state, guards evaluated here on real data), then applies the transition, its effects, the SLA
timers, one audit event and the notices, and commits once. A refused trigger changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Attachment, Case, CaseEvent, CaseNumberCounter, CreditRecord, User
from app.models.enums import (
    CASE_NUMBER_PREFIX,
    IN_PUBLICITY,
    AttachmentPurpose,
    CaseKind,
    Role,
)
from app.services import clock, files, notify, records, sla
from app.services.calendar import end_of_period
from app.services.policy import get_policy, get_policy_in_force
from workflows import CASE_WORKFLOWS, SYSTEM, Transition, TransitionRefused

# Why a transition may be refused, in words for the user. Guard names map to their reasons.
REFUSALS = {
    "not_allowed_in_state": _l("This action is not possible in the case's current state."),
    "not_allowed_for_role": _l("Your role may not take this action."),
    "record_not_in_publicity": _l("The record is no longer in publicity."),
    "not_case_department": _l("Only the department the case was referred to may answer."),
    "not_applicant": _l("Only the applicant may do this."),
    "not_handler": _l("Only the officer or department handling the complaint may respond."),
    "already_reopened": _l("A complaint may be reopened only once."),
    "reopen_window_passed": _l("The time to reopen this complaint has passed."),
    "already_extended": _l("The deadline of this case has already been extended once."),
    "already_assigned": _l("Someone already handles this case."),
    "supplement_window_passed": _l("The time to supply material has passed."),
    "department_opinion_missing": _l("Records of this category need the department's opinion before a repair is approved."),
    "reason_required": _l("Please give a reason."),
    "stale": _l("Someone else changed this case in the meantime. Reload the page, check the changes and try again."),
    # repair eligibility
    "shortest_publicity_not_over": _l("The shortest publicity period of the record has not ended yet."),
    "class_not_repairable": _l("Records of this class cannot be repaired."),
    "sanction_not_repairable": _l("The sanction of this record (licence revoked, business or employment restricted) is never repairable early."),
    "obligation_proof_missing": _l("The proof that the obligation was fulfilled is missing."),
    "commitment_missing": _l("The signed credit commitment is missing."),
    "barred_after_fraud": _l("A repair of this record was revoked for false material; a new application is barred for now."),
    "repair_already_open": _l("A repair application for this record is already being handled."),
}

OPEN_DONE = {name: {s.name for s in w.states if s.done} for name, w in CASE_WORKFLOWS.items()}


def reason_text(code: str) -> str:
    return str(REFUSALS.get(code, code))


# ---------------------------------------------------------------------------------------
# Submission
# ---------------------------------------------------------------------------------------


@dataclass
class Submission:
    kind: str
    title: str
    statement: str
    record_id: int | None = None
    department_id: int | None = None  # complaints about a department
    uploads: list[files.Upload] = field(default_factory=list)


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
        _attach(case, applicant, upload, content_type)
    _append_event(case, applicant, "submit", None, workflow.initial, None, None)
    sla.sync_timers(case, workflow.initial)
    notify.enqueue(
        f"case-submitted:{case.id}", "case_submitted", {"case": case.number},
        user_id=applicant.id,
    )
    db.session.commit()
    return case


def _attach(case: Case, user: User, upload: files.Upload, content_type: str) -> Attachment:
    attachment = Attachment(
        case_id=case.id,
        uploaded_by_id=user.id,
        purpose=upload.purpose,
        filename=files.safe_filename(upload.filename),
        content_type=content_type,
        size_bytes=len(upload.data),
        sha256=files.store(upload.data),
    )
    db.session.add(attachment)
    return attachment


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


# ---------------------------------------------------------------------------------------
# Transitions
# ---------------------------------------------------------------------------------------


@dataclass
class Action:
    """What a user asks for: a trigger, on the version of the case they saw, with a reason."""

    trigger: str
    expected_version: int | None
    reason: str | None = None
    assignee_id: int | None = None  # complaint assignment
    department_id: int | None = None
    corrections: dict[str, str] = field(default_factory=dict)  # objection "corrected" outcome
    uploads: list[files.Upload] = field(default_factory=list)
    verification: str | None = None  # the department's finding when it replies to a referral


# What a department may find when it verifies a record under objection.
VERIFICATION_RESULTS = ("correct", "corrected", "revoke")


def actor_role(user: User | None) -> str:
    return SYSTEM if user is None else user.role


def transition_case(case_id: int, action: Action, actor: User | None) -> Case:
    """Fire one trigger on one case, or refuse it and change nothing.

    ``actor`` None is the system (scheduled jobs). Raises Conflict when the case changed
    since the user saw it or the workflow refuses, InvalidInput when a reason is missing.
    A write that loses a race (the version moved under it, or SQLite refuses a write on a
    stale snapshot) is rolled back and reported as the same Conflict.
    """
    try:
        return _transition_case(case_id, action, actor)
    except (StaleDataError, OperationalError) as error:
        db.session.rollback()
        if isinstance(error, OperationalError) and "locked" not in str(error).lower():
            raise
        raise Conflict(REFUSALS["stale"]) from None


def _transition_case(case_id: int, action: Action, actor: User | None) -> Case:
    case = lock_case(case_id)
    if actor is not None and not can_view(actor, case):
        raise NotFound()
    apply_transition(case, action, actor)
    db.session.commit()
    return case


def apply_transition(case: Case, action: Action, actor: User | None) -> Case:
    """The transition itself, inside the caller's transaction (no commit): for jobs that
    change cases as part of a larger use case, such as retiring their records."""
    if action.expected_version is not None and action.expected_version != case.version:
        raise Conflict(REFUSALS["stale"])
    workflow = CASE_WORKFLOWS[case.kind]
    spec = workflow.find(case.state, action.trigger)
    if spec is not None and spec.reason_required and not (action.reason or "").strip():
        raise InvalidInput(REFUSALS["reason_required"])
    if case.kind == CaseKind.OBJECTION and action.trigger == "reply" and action.verification not in VERIFICATION_RESULTS:
        raise InvalidInput(_l("Say what the verification found: the record is correct, needs correcting, or must be revoked."))
    try:
        taken = workflow.fire(case.state, action.trigger, actor_role(actor), _guards(case, actor))
    except TransitionRefused as refused:
        raise Conflict(reason_text(refused.reason)) from None
    content_types = [files.check_upload(u) for u in action.uploads]

    from_state = case.state
    to_state = taken.dest
    case.version += 1
    case.state = to_state
    for effect in taken.effects:
        EFFECTS[effect](case, action, actor)
    for upload, content_type in zip(action.uploads, content_types, strict=True):
        _attach(case, actor, upload, content_type)
    if taken.trigger.startswith("decide_"):
        case.outcome = taken.trigger.removeprefix("decide_")
        case.outcome_reason = action.reason
    if workflow.state(to_state).done and case.closed_at is None:
        case.closed_at = clock.now()
    elif not workflow.state(to_state).done:
        case.closed_at = None
    _append_event(case, actor, taken.trigger, from_state, to_state, action.reason, _event_data(action))
    if to_state != from_state:
        sla.sync_timers(case, to_state)
    _notify_transition(case, taken, actor)
    return case


def lock_case(case_id: int) -> Case:
    """Load a case for change, row-locked on PostgreSQL (a no-op on SQLite, which locks files)."""
    case = db.session.scalar(
        select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
    )
    if case is None:
        raise NotFound()
    return case


def available_actions(case: Case, user: User) -> list[Transition]:
    """The transitions this user may take on this case now: the buttons to show."""
    if not can_view(user, case):
        return []
    return CASE_WORKFLOWS[case.kind].available(case.state, user.role, _guards(case, user))


def _event_data(action: Action) -> dict | None:
    data = {}
    if action.assignee_id:
        data["assignee_id"] = action.assignee_id
    elif action.trigger == "claim":
        data["assignee_id"] = None  # the actor
    if action.department_id:
        data["department_id"] = action.department_id
    if action.corrections:
        data["corrections"] = action.corrections
    if action.verification:
        data["verification"] = action.verification
    if action.uploads:
        data["files"] = [files.safe_filename(u.filename) for u in action.uploads]
    return data or None


def _append_event(case, actor, trigger, from_state, to_state, reason, data) -> CaseEvent:
    seq = (db.session.scalar(select(func.max(CaseEvent.seq)).where(CaseEvent.case_id == case.id)) or 0) + 1
    event = CaseEvent(
        case_id=case.id, seq=seq, at=clock.now(), actor_id=actor.id if actor else None,
        trigger=trigger, from_state=from_state, to_state=to_state,
        reason=(reason or "").strip() or None, data=data,
    )
    db.session.add(event)
    return event


# ---------------------------------------------------------------------------------------
# Guards: evaluated on real data; each returns None when it holds, else a reason code.
# ---------------------------------------------------------------------------------------


def _guards(case: Case, actor: User | None):
    def check(name: str) -> str | None:
        return GUARDS[name](case, actor)

    return check


def _guard_record_in_publicity(case, actor):
    return None if case.record and case.record.state in IN_PUBLICITY else "record_not_in_publicity"


def _guard_is_case_department(case, actor):
    ok = actor is not None and actor.department_id is not None and actor.department_id == case.department_id
    return None if ok else "not_case_department"


def _guard_is_applicant(case, actor):
    ok = actor is not None and actor.role == Role.APPLICANT and actor.subject_id == case.subject_id
    return None if ok else "not_applicant"


def _guard_is_handler(case, actor):
    if actor is None:
        return "not_handler"
    if actor.role == Role.SUPERVISOR or actor.id == case.assignee_id:
        return None
    if actor.role == Role.DEPARTMENT and case.assignee_id is None and actor.department_id == case.department_id:
        return None
    return "not_handler"


def _has_event(case, trigger) -> bool:
    return bool(
        db.session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == trigger)
        )
    )


def _guard_unassigned(case, actor):
    return None if case.assignee_id is None else "already_assigned"


def _guard_not_reopened_before(case, actor):
    return "already_reopened" if _has_event(case, "reopen") else None


def _guard_not_extended_before(case, actor):
    return "already_extended" if _has_event(case, "extend") else None


def _guard_repair_eligible(case, actor):
    purposes = set(
        db.session.scalars(select(Attachment.purpose).where(Attachment.case_id == case.id))
    )
    problems = repair_eligibility(case.record, purposes, ignore_case_id=case.id)
    return problems[0] if problems else None


def _clock_open(name: str, refusal: str):
    def guard(case, actor):
        from app.models import Timer
        from app.models.enums import TimerStatus

        due = db.session.scalar(
            select(Timer.due_at).where(Timer.case_id == case.id, Timer.clock == name, Timer.status == TimerStatus.RUNNING)
        )
        return None if due is not None and clock.now() <= due else refusal

    return guard


def _guard_department_opinion_if_required(case, actor):
    required = get_policy(case.policy_version).body.get("repair", {}).get("department_opinion_required", [])
    if case.record.category in required and not _has_event(case, "give_opinion"):
        return "department_opinion_missing"
    return None


GUARDS = {
    "unassigned": _guard_unassigned,
    "supplement_window_open": _clock_open("supplement", "supplement_window_passed"),
    "reopen_window_open": _clock_open("reopen_window", "reopen_window_passed"),
    "department_opinion_if_required": _guard_department_opinion_if_required,
    "record_in_publicity": _guard_record_in_publicity,
    "is_case_department": _guard_is_case_department,
    "is_applicant": _guard_is_applicant,
    "is_handler": _guard_is_handler,
    "not_reopened_before": _guard_not_reopened_before,
    "not_extended_before": _guard_not_extended_before,
    "repair_eligible": _guard_repair_eligible,
}


def repair_eligibility(record: CreditRecord, purposes: set[str], ignore_case_id: int | None = None) -> list[str]:
    """Every reason why this record cannot be repaired now (empty when it can).

    Rules of DESIGN section 9: the shortest publicity period has passed, the class is
    repairable, no sanction that is never repairable early, obligation proof and credit
    commitment attached, no repair of the same record revoked for false material within the
    bar period, no other repair of it under way.
    """
    policy = get_policy(record.policy_version).body
    today = clock.today()
    problems = []
    if record.state not in IN_PUBLICITY:
        problems.append("record_not_in_publicity")
    if today <= record.shortest_publicity_end:
        problems.append("shortest_publicity_not_over")
    if not policy["record_classes"][record.severity]["repairable"]:
        problems.append("class_not_repairable")
    if set(record.sanction_kinds or ()) & set(policy.get("never_repairable_sanctions", ())):
        problems.append("sanction_not_repairable")
    if AttachmentPurpose.OBLIGATION_PROOF not in purposes:
        problems.append("obligation_proof_missing")
    if AttachmentPurpose.CREDIT_COMMITMENT not in purposes:
        problems.append("commitment_missing")
    bar = policy.get("repair", {}).get("bar_after_fraud", "1y")
    revoked = db.session.scalars(
        select(Case.closed_at).where(
            Case.record_id == record.id, Case.kind == CaseKind.REPAIR, Case.state == "revoked"
        )
    ).all()
    if any(end_of_period(clock.local(at).date(), bar) >= today for at in revoked if at):
        problems.append("barred_after_fraud")
    open_repairs = select(func.count()).select_from(Case).where(
        Case.record_id == record.id,
        Case.kind == CaseKind.REPAIR,
        Case.state.not_in(OPEN_DONE[CaseKind.REPAIR]),
    )
    if ignore_case_id is not None:
        open_repairs = open_repairs.where(Case.id != ignore_case_id)
    if db.session.scalar(open_repairs):
        problems.append("repair_already_open")
    return problems


# ---------------------------------------------------------------------------------------
# Effects: what a transition does beyond the state change.
# ---------------------------------------------------------------------------------------


def _effect_mark_under_objection(case, action, actor):
    records.mark_under_objection(case.record, actor, case)


def _effect_clear_objection_mark(case, action, actor):
    others = db.session.scalar(
        select(func.count()).select_from(Case).where(
            Case.record_id == case.record_id,
            Case.kind == CaseKind.OBJECTION,
            Case.id != case.id,
            Case.state.in_(("accepted", "referred", "replied")),
        )
    )
    if case.record.under_objection and not others:
        records.clear_objection_mark(case.record, actor, case)


def _effect_correct_record(case, action, actor):
    records.correct_record(case.record, action.corrections, actor, case, action.reason)


def _effect_revoke_record(case, action, actor):
    records.revoke_record(case.record, actor, case, action.reason)


def _effect_repair_record(case, action, actor):
    records.repair_record(case.record, actor, case, action.reason)


def _effect_republish_record(case, action, actor):
    records.republish_record(case.record, actor, case, action.reason)


def _effect_assign_department(case, action, actor):
    case.department_id = case.record.department_id
    notify.enqueue(
        f"referral:{case.id}:{case.version}", "case_referred",
        {"case": case.number, "trigger": action.trigger}, department_id=case.department_id,
    )


def _effect_assign_handler(case, action, actor):
    if action.assignee_id:
        assignee = db.session.get(User, action.assignee_id)
        if assignee is None or assignee.role not in (Role.OFFICER, Role.SUPERVISOR) or not assignee.is_active:
            raise InvalidInput(_l("Choose an active case officer."))
        case.assignee_id = assignee.id
    elif action.department_id or case.department_id:
        case.department_id = action.department_id or case.department_id
        case.assignee_id = None
    else:
        raise InvalidInput(_l("Choose an officer or a department to handle the complaint."))


def _effect_claim(case, action, actor):
    case.assignee_id = actor.id


def _effect_reassign(case, action, actor):
    assignee = db.session.get(User, action.assignee_id) if action.assignee_id else None
    if assignee is None or assignee.role not in (Role.OFFICER, Role.SUPERVISOR) or not assignee.is_active:
        raise InvalidInput(_l("Choose an active case officer."))
    case.assignee_id = assignee.id
    notify.enqueue(
        f"assigned:{case.id}:v{case.version}", "case_assigned", {"case": case.number}, user_id=assignee.id,
    )


def _effect_extend_overall(case, action, actor):
    sla.extend_timer(case, "overall")


EFFECTS = {
    "mark_under_objection": _effect_mark_under_objection,
    "clear_objection_mark": _effect_clear_objection_mark,
    "correct_record": _effect_correct_record,
    "revoke_record": _effect_revoke_record,
    "repair_record": _effect_repair_record,
    "republish_record": _effect_republish_record,
    "assign_department": _effect_assign_department,
    "assign_handler": _effect_assign_handler,
    "extend_overall": _effect_extend_overall,
    "claim": _effect_claim,
    "reassign": _effect_reassign,
}


def _notify_transition(case: Case, taken: Transition, actor: User | None) -> None:
    """Tell the applicant whenever someone else moved the case (not who handles it)."""
    if taken.bookkeeping or (actor is not None and actor.id == case.applicant_id):
        return
    notify.enqueue(
        f"case:{case.id}:v{case.version}:{taken.trigger}", "case_changed",
        {"case": case.number, "trigger": taken.trigger, "state": case.state},
        user_id=case.applicant_id,
    )


# ---------------------------------------------------------------------------------------
# Access and queries
# ---------------------------------------------------------------------------------------


def can_view(user: User, case: Case) -> bool:
    """A subject sees its own cases, a department the cases referred to it, staff all."""
    if user.role in (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN):
        return True
    if user.role == Role.APPLICANT:
        return user.subject_id == case.subject_id
    if user.role == Role.DEPARTMENT:
        return case.department_id is not None and user.department_id == case.department_id and (
            case.state not in ("submitted", "awaiting_supplement", "not_accepted")
        )
    return False


def get_case_for(user: User, case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or not can_view(user, case):
        raise NotFound()
    return case


def list_events(case: Case) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))


def list_cases_of_subject(subject_id: int) -> list[Case]:
    stmt = (
        select(Case)
        .where(Case.subject_id == subject_id)
        .options(joinedload(Case.record))
        .order_by(Case.submitted_at.desc())
    )
    return list(db.session.scalars(stmt))


def _open_filter():
    """Cases still being worked: not in a state its workflow marks done."""
    from sqlalchemy import and_, or_

    return or_(*[and_(Case.kind == kind, Case.state.not_in(done)) for kind, done in OPEN_DONE.items()])


def list_open_cases(limit: int = 50, department_id: int | None = None, state: str | None = None) -> list[Case]:
    """Open cases, earliest deadline first (cases without a deadline last)."""
    stmt = (
        select(Case)
        .where(_open_filter())
        .options(joinedload(Case.subject), joinedload(Case.assignee))
        .order_by(Case.due_at.is_(None), Case.due_at, Case.id)
        .limit(limit)
    )
    if department_id is not None:
        stmt = stmt.where(Case.department_id == department_id)
    if state is not None:
        stmt = stmt.where(Case.state == state)
    return list(db.session.scalars(stmt))


def count_open_cases(overdue_before=None, due_between=None) -> dict[tuple[str, str], int]:
    """Open cases per (kind, state); with ``overdue_before``, only those past their deadline;
    with ``due_between`` (start, end), only those due in that span."""
    stmt = select(Case.kind, Case.state, func.count()).where(_open_filter())
    if overdue_before is not None:
        stmt = stmt.where(Case.due_at < overdue_before)
    if due_between is not None:
        stmt = stmt.where(Case.due_at >= due_between[0], Case.due_at <= due_between[1])
    stmt = stmt.group_by(Case.kind, Case.state)
    return {(kind, state): n for kind, state, n in db.session.execute(stmt)}




def due_soon_horizon():
    """Deadlines up to the end of the next working day count as due soon (policy: 1 wd)."""
    from app.services.calendar import get_working_calendar
    from app.services.policy import get_policy_in_force

    lead = int(get_policy_in_force().body.get("reminders", {}).get("due_soon_before", {}).get("wd", 1))
    return clock.end_of_day(get_working_calendar().add_working_days(clock.today(), lead))


# ---------------------------------------------------------------------------------------
# Officer queues: filters and keyset pagination (no OFFSET: page 1,000 costs what page 1 does).
# ---------------------------------------------------------------------------------------


@dataclass
class QueueFilter:
    kind: str | None = None
    state: str | None = None
    department_id: int | None = None
    assignee: str | None = None  # "me", "none" or a user id
    overdue: bool = False
    submitted_from: date | None = None
    submitted_to: date | None = None


@dataclass(frozen=True)
class QueueCursor:
    """The last row of a page: (has no deadline, deadline, id), the queue's sort key."""

    no_deadline: bool
    due_at: datetime | None
    case_id: int

    def encode(self) -> str:
        due = self.due_at.isoformat() if self.due_at else "-"
        return f"{int(self.no_deadline)}~{due}~{self.case_id}"

    @classmethod
    def decode(cls, text: str) -> QueueCursor:
        """Raises ValueError on anything that is not a cursor this code wrote."""
        flag, due, case_id = text.split("~")
        if flag not in ("0", "1"):
            raise ValueError("bad cursor")
        return cls(flag == "1", None if due == "-" else datetime.fromisoformat(due), int(case_id))


def list_queue(user: User, filters: QueueFilter, after: QueueCursor | None = None, limit: int = 50):
    """Open cases, earliest deadline first (those without one last), filtered; returns
    (cases, cursor of the next page).

    Keyset pages on the index (due_at, id): a row comparison walks the index from the
    cursor, so a page deep in a million cases costs what the first one does. Rows without a
    deadline come after all the others, read by a second query when the first runs out.
    """
    from sqlalchemy import tuple_

    base = select(Case).where(_open_filter()).options(
        joinedload(Case.subject), joinedload(Case.assignee), joinedload(Case.department)
    )
    if filters.kind:
        base = base.where(Case.kind == filters.kind)
    if filters.state:
        base = base.where(Case.state == filters.state)
    if filters.department_id:
        base = base.where(Case.department_id == filters.department_id)
    if filters.assignee == "me":
        base = base.where(Case.assignee_id == user.id)
    elif filters.assignee == "none":
        base = base.where(Case.assignee_id.is_(None))
    elif filters.assignee and filters.assignee.isdigit():
        base = base.where(Case.assignee_id == int(filters.assignee))
    if filters.overdue:
        base = base.where(Case.due_at < clock.now())
    if filters.submitted_from:
        base = base.where(Case.submitted_at >= clock.start_of_day(filters.submitted_from))
    if filters.submitted_to:
        base = base.where(Case.submitted_at < clock.start_of_day(filters.submitted_to + timedelta(days=1)))

    rows: list[Case] = []
    if after is None or not after.no_deadline:
        with_deadline = base.where(Case.due_at.is_not(None))
        if after is not None:
            with_deadline = with_deadline.where(tuple_(Case.due_at, Case.id) > tuple_(after.due_at, after.case_id))
        rows = list(db.session.scalars(with_deadline.order_by(Case.due_at, Case.id).limit(limit + 1)))
    if len(rows) <= limit:
        without = base.where(Case.due_at.is_(None))
        if after is not None and after.no_deadline:
            without = without.where(Case.id > after.case_id)
        rows += list(db.session.scalars(without.order_by(Case.id).limit(limit + 1 - len(rows))))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = QueueCursor(last.due_at is None, last.due_at, last.id)
    return rows, next_cursor


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (case number, why)


def apply_to_many(user: User, trigger: str, versions: dict[int, int], assignee_id: int | None = None,
                  reason: str | None = None) -> BulkResult:
    """The same action on many cases, each through its workflow, each its own transaction."""
    from app.errors import DomainError

    result = BulkResult()
    for case_id, version in versions.items():
        number = db.session.scalar(select(Case.number).where(Case.id == case_id)) or f"#{case_id}"
        try:
            transition_case(case_id, Action(trigger, version, reason, assignee_id=assignee_id), user)
        except DomainError as error:
            db.session.rollback()
            result.refused.append((number, str(error)))
        else:
            result.done.append(number)
    return result
