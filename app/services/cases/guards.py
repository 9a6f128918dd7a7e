"""Guards of the case workflows, evaluated on real data, and the repair eligibility rules.

Each guard returns None when it holds, else a reason code (``refusals.REFUSALS``).
"""
from __future__ import annotations

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Attachment, Case, CaseEvent, CreditRecord, Timer, User
from app.models.enums import IN_PUBLICITY, AttachmentPurpose, CaseKind, Role, TimerStatus
from app.services.binding.queries import is_verified_for
from app.services.calendar import end_of_period
from app.services.policy import get_policy
from workflows import APPLICANT, CASE_WORKFLOWS, COMPLAINT, DEPARTMENT, REPAIR
from workflows.complaint import NOT_COMPLAINED_OF, OLDER_THAN_LIMIT

OPEN_DONE = {name: {s.name for s in w.states if s.done} for name, w in CASE_WORKFLOWS.items()}
# A repair revoked by one of these rested on false material: it bars the record's next repair.
_BARRING = REPAIR.triggers_where(lambda t: t.bars_repair)

def guard_check(case: Case, actor: User | None):
    def check(name: str) -> str | None:
        return GUARDS[name](case, actor)

    return check


def _guard_record_in_publicity(case, actor):
    return None if case.record and case.record.state in IN_PUBLICITY else "record_not_in_publicity"


def _guard_is_case_department(case, actor):
    ok = actor is not None and actor.department_id is not None and actor.department_id == case.department_id
    return None if ok else "not_case_department"


def _guard_is_applicant(case, actor):
    ok = actor is not None and is_verified_for(actor, case.subject_id)  # an ended binding acts no more
    return None if ok else "not_applicant"


def _guard_is_handler(case, actor):
    if actor is None:
        return "not_handler"
    if actor.role == Role.SUPERVISOR or actor.id == case.assignee_id:
        return None
    if actor.role == Role.DEPARTMENT and case.assignee_id is None and actor.department_id == case.department_id:
        return None
    return "not_handler"


def _has_event(case, triggers) -> bool:
    return bool(
        db.session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger.in_(triggers))
        )
    )


def _guard_unassigned(case, actor):
    return None if case.assignee_id is None else "already_assigned"


def _once(guard: str, refusal: str):
    """A step allowed once per case: refused after any step that this guard guards."""
    guarded = {t.trigger for w in CASE_WORKFLOWS.values() for t in w.transitions if guard in t.guards}

    def check(case, actor):
        return refusal if _has_event(case, guarded) else None

    return check


def _guard_repair_eligible(case, actor):
    purposes = set(
        db.session.scalars(select(Attachment.purpose).where(Attachment.case_id == case.id))
    )
    problems = repair_eligibility(case.record, purposes, ignore_case_id=case.id)
    return problems[0] if problems else None


def _applicant_window_open(refusal: str):
    """The applicant's own deadline in the case's state (a supplement, the reopen window) runs."""
    def guard(case, actor):
        workflow = CASE_WORKFLOWS[case.kind]
        names = [n for n in workflow.state(case.state).clocks if workflow.clock(n).binds == APPLICANT]
        due = db.session.scalar(
            select(Timer.due_at).where(Timer.case_id == case.id, Timer.clock.in_(names), Timer.status == TimerStatus.RUNNING)
        )
        return None if due is not None and clock.now() <= due else refusal

    return guard


# The steps by which a department answers a case that waits for it (a repair: its opinion).
_DEPARTMENT_ANSWERS = {
    kind: w.triggers_where(lambda t: t.answers and DEPARTMENT in t.actors) for kind, w in CASE_WORKFLOWS.items()
}


def _guard_department_opinion_if_required(case, actor):
    required = get_policy(case.policy_version).body.get("repair", {}).get("department_opinion_required", [])
    if case.record.category in required and not _has_event(case, _DEPARTMENT_ANSWERS[case.kind]):
        return "department_opinion_missing"
    return None


def handled_case_complained_of(case: Case, user_id: int | None) -> bool:
    """Whether the user handled the case this complaint is about: its officer then, or one who acted on it."""
    if case.about_case_id is None or user_id is None:
        return False
    about = db.session.get(Case, case.about_case_id)
    if about is not None and about.assignee_id == user_id:
        return True
    return bool(db.session.scalar(
        select(func.count()).select_from(CaseEvent).join(User, User.id == CaseEvent.actor_id).where(
            CaseEvent.case_id == case.about_case_id, CaseEvent.actor_id == user_id,
            User.role.in_([Role.OFFICER, Role.SUPERVISOR]),
        )
    ))


def _guard_not_complained_of(case, actor):
    return "handled_case_complained_of" if actor is not None and handled_case_complained_of(case, actor.id) else None


def proposed_not_accept_grounds(case: Case) -> list[str]:
    """Grounds for not accepting that the data already show (a complaint about an old record)."""
    if case.kind != CaseKind.COMPLAINT or case.state != COMPLAINT.initial or case.record is None:
        return []
    limit = get_policy(case.policy_version).body.get("complaint", {}).get("not_accept_older_than", "3y")
    if end_of_period(case.record.decision_date, limit) < clock.local(case.submitted_at).date():
        return [OLDER_THAN_LIMIT]
    return []


# The guards that hold while an applicant's own window runs (a supplement, the reopen window).
WINDOW_GUARDS = frozenset({"supplement_window_open", "reopen_window_open"})


def window_still_useful(case: Case, clock_name: str) -> bool:
    """Whether the applicant's window ``clock_name`` still opens a step to them: false once the
    step it times is refused for another reason (the one reopen used), so the page stops showing it."""
    workflow = CASE_WORKFLOWS[case.kind]
    if workflow.clock(clock_name).binds != APPLICANT:
        return True
    steps = [t for t in workflow.transitions_from(case.state) if APPLICANT in t.actors and WINDOW_GUARDS & set(t.guards)]
    if not steps:
        return True
    check = guard_check(case, case.applicant)

    def others(name: str) -> str | None:
        return None if name in WINDOW_GUARDS else check(name)

    return any(workflow.refusal(case.state, t.trigger, APPLICANT, others) is None for t in steps)


GUARDS = {
    NOT_COMPLAINED_OF: _guard_not_complained_of,
    "unassigned": _guard_unassigned,
    "supplement_window_open": _applicant_window_open("supplement_window_passed"),
    "reopen_window_open": _applicant_window_open("reopen_window_passed"),
    "department_opinion_if_required": _guard_department_opinion_if_required,
    "record_in_publicity": _guard_record_in_publicity,
    "is_case_department": _guard_is_case_department,
    "is_applicant": _guard_is_applicant,
    "is_handler": _guard_is_handler,
    "not_reopened_before": _once("not_reopened_before", "already_reopened"),
    "not_extended_before": _once("not_extended_before", "already_extended"),
    "repair_eligible": _guard_repair_eligible,
}


def repair_eligibility(record: CreditRecord, purposes: set[str], ignore_case_id: int | None = None) -> list[str]:
    """Every reason why this record cannot be repaired now (empty when it can).

    Rules of DESIGN section 9: the shortest publicity period has passed, the class is
    repairable, no sanction that is never repairable early, no blocking measure still running
    (the record's ``measure_until`` not passed), obligation proof and credit
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
    if record.measure_until is not None and today <= record.measure_until:
        problems.append("measure_still_running")
    if AttachmentPurpose.OBLIGATION_PROOF not in purposes:
        problems.append("obligation_proof_missing")
    if AttachmentPurpose.CREDIT_COMMITMENT not in purposes:
        problems.append("commitment_missing")
    bar = policy.get("repair", {}).get("bar_after_fraud", "1y")
    # The bar runs from the revocation, read from its event: the case's ``closed_at`` is the
    # approval's (an approved repair is already done), which the revocation does not move.
    revoked_at = db.session.scalar(
        select(func.max(CaseEvent.at)).join(Case, Case.id == CaseEvent.case_id).where(
            Case.record_id == record.id, Case.kind == CaseKind.REPAIR, CaseEvent.trigger.in_(_BARRING)
        )
    )
    if revoked_at is not None and end_of_period(clock.local(revoked_at).date(), bar) >= today:
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
