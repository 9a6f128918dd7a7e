"""What a transition does beyond the state change: on the record, on who handles the case, notices.

Steps inside the transition's transaction: they change rows and never commit.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app import clock
from app.errors import InvalidInput
from app.extensions import db
from app.models import Case, User
from app.models.enums import CaseKind, Role
from app.services.cases.guards import handled_case_complained_of
from app.services.cases.history import proposed_corrections
from app.services.cases.refusals import REFUSALS
from app.services.letters import issue_letter
from app.services.notices.outbox import enqueue
from app.services.records import lifecycle as records
from app.services.sla.timers import extend_timer
from app.site import site_address
from workflows import CASE_WORKFLOWS, CLAIM, OBJECTION, REASSIGN, Transition


def mark_record_under_objection(case: Case, actor: User | None) -> None:
    """Mark the objection's record "under objection" unless it already is (one event per mark):
    on receipt (``submit_case``), and again at acceptance only if the mark is missing."""
    if not case.record.under_objection:
        records.mark_under_objection(case.record, actor, case)


def _effect_mark_under_objection(case, action, actor):
    mark_record_under_objection(case, actor)


# An objection in one of these keeps its record marked, whatever became of the others; so does
# one decided with an outcome that keeps the mark on purpose (unresolved: the decision that does
# not clear it).
_MARKING_STATES = OBJECTION.states_where(lambda s: s.carries_objection_mark)
_MARKING_OUTCOMES = tuple(
    t.outcome for t in OBJECTION.transitions if t.outcome and "clear_objection_mark" not in t.effects)


def _effect_clear_objection_mark(case, action, actor):
    others = db.session.scalar(
        select(func.count()).select_from(Case).where(
            Case.record_id == case.record_id,
            Case.kind == CaseKind.OBJECTION,
            Case.id != case.id,
            or_(Case.state.in_(_MARKING_STATES), Case.outcome.in_(_MARKING_OUTCOMES)),
        )
    )
    if case.record.under_objection and not others:
        records.clear_objection_mark(case.record, actor, case)


def _effect_take_corrections(case, action, actor):
    """A reply whose finding corrects carries the corrected fields: checked, only those that
    change, kept on the reply's event (``event_data``) to prefill the officer's decision. With
    any other finding the fields are not the department's answer and are dropped."""
    findings = {f.name: f for t in CASE_WORKFLOWS[case.kind].transitions if t.trigger == action.trigger
                for f in t.findings}
    finding = findings.get(action.verification)
    if finding is None or not finding.corrects:
        action.corrections = {}
        return
    action.corrections = records.check_corrections(case.record, action.corrections)
    if not action.corrections:
        raise InvalidInput(REFUSALS["corrections_missing"])


def _effect_correct_record(case, action, actor):
    """The decision applies the officer's fields, or, without any, what the department's reply
    proposed; a correction that changes nothing is refused."""
    proposed = action.corrections or proposed_corrections(case)
    changes = records.check_corrections(case.record, proposed)
    if not changes:
        raise InvalidInput(REFUSALS["nothing_to_correct"])
    action.corrections = changes
    records.correct_record(case.record, changes, actor, action.reason, case=case, source=records.OBJECTION)


def _effect_revoke_record(case, action, actor):
    records.revoke_record(case.record, actor, case, action.reason)


def _effect_repair_record(case, action, actor):
    records.repair_record(case.record, actor, case, action.reason)


def _effect_republish_record(case, action, actor):
    records.republish_record(case.record, actor, case, action.reason)


def _effect_assign_department(case, action, actor):
    case.department_id = case.record.department_id
    # A repair asks for the department's opinion; an objection refers the record for checking.
    template = "opinion_requested" if case.kind == CaseKind.REPAIR else "case_referred"
    enqueue(
        f"referral:{case.id}:{case.version}", template,
        {"case": case.number, "trigger": action.trigger}, department_id=case.department_id,
    )


def _effect_assign_handler(case, action, actor):
    if action.assignee_id:
        assignee = db.session.get(User, action.assignee_id)
        if assignee is None or assignee.role not in (Role.OFFICER, Role.SUPERVISOR) or not assignee.is_active:
            raise InvalidInput(_l("Choose an active case officer."))
        if handled_case_complained_of(case, assignee.id):
            raise InvalidInput(REFUSALS["handled_case_complained_of"])
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
    if handled_case_complained_of(case, assignee.id):
        raise InvalidInput(REFUSALS["handled_case_complained_of"])
    case.assignee_id = assignee.id
    enqueue(
        f"assigned:{case.id}:v{case.version}", "case_assigned", {"case": case.number}, user_id=assignee.id,
    )


def _effect_extend_overall(case, action, actor):
    for running in CASE_WORKFLOWS[case.kind].clocks:
        if running.extendable:
            extend_timer(case, running.name)


EFFECTS = {
    "mark_under_objection": _effect_mark_under_objection,
    "clear_objection_mark": _effect_clear_objection_mark,
    "take_corrections": _effect_take_corrections,
    "correct_record": _effect_correct_record,
    "revoke_record": _effect_revoke_record,
    "repair_record": _effect_repair_record,
    "republish_record": _effect_republish_record,
    "assign_department": _effect_assign_department,
    "assign_handler": _effect_assign_handler,
    "extend_overall": _effect_extend_overall,
    CLAIM: _effect_claim,  # the handling steps' effects bear their names
    REASSIGN: _effect_reassign,
}


def notify_transition(case: Case, taken: Transition, actor: User | None) -> None:
    """Tell the applicant whenever someone else moved the case (not who handles it), with the
    letter the step issues (``Transition.letter``), which the e-mail attaches. The transition's
    last step, so that the letter states its reason, corrections and deadlines as they stand."""
    letter = issue_letter(case, taken)
    if taken.bookkeeping or (actor is not None and actor.id == case.applicant_id):
        return
    payload = {"case": case.number, "kind": case.kind, "trigger": taken.trigger, "state": case.state,
               "due_at": clock.local(case.due_at).strftime("%Y-%m-%d") if case.due_at else "",
               "link": f"{site_address()}/cases/{case.id}"}
    if letter is not None:
        payload["letter"] = letter.id
    enqueue(f"case:{case.id}:v{case.version}:{taken.trigger}", "case_changed", payload, user_id=case.applicant_id)
