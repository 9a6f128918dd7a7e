"""Cases change state here and nowhere else.

The service loads the case, checks the version the user saw, asks the workflow whether the
trigger is allowed (role, state, guards evaluated on real data), then applies the transition,
its effects, the SLA timers, one audit event and the notices, and commits once. A refused
trigger changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app import clock
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Case, CreditRecord, User
from app.models.enums import IN_PUBLICITY
from app.services.cases import files
from app.services.cases.access import can_view, waits_for_its_department
from app.services.cases.effects import EFFECTS, notify_transition
from app.services.cases.guards import guard_check
from app.services.cases.history import append_event, attach, event_data
from app.services.cases.refusals import REFUSALS, reason_text
from app.services.sla.timers import sync_timers
from app.services.transaction import use_case
from workflows import CASE_WORKFLOWS, CASES_END_REASONS, OBJECTION, SYSTEM, Transition, TransitionRefused


@dataclass
class Action:
    """What a user asks for: a trigger, on the version of the case they saw, with a reason."""

    trigger: str
    expected_version: int | None
    reason: str | None = None
    assignee_id: int | None = None  # complaint assignment
    department_id: int | None = None
    corrections: dict[str, str] = field(default_factory=dict)  # for a transition that ``corrects``
    uploads: list[files.Upload] = field(default_factory=list)
    verification: str | None = None  # the department's finding when it replies to a referral


# What a department may find when it verifies a record under objection.
VERIFICATION_RESULTS = tuple(dict.fromkeys(name for t in OBJECTION.transitions for name in t.finding_names))


def actor_role(user: User | None) -> str:
    return SYSTEM if user is None else user.role


@use_case
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
    # Asked of the trigger, whatever the state: a reply without its finding is refused as such.
    findings = {f for t in workflow.transitions if t.trigger == action.trigger for f in t.finding_names}
    if findings and action.verification not in findings:
        raise InvalidInput(_l("Say what the verification found: the record is correct, needs correcting, or must be revoked."))
    try:
        taken = workflow.fire(case.state, action.trigger, actor_role(actor), guard_check(case, actor))
    except TransitionRefused as refused:
        raise Conflict(reason_text(refused.reason)) from None
    content_types = [files.check_upload(u) for u in action.uploads]

    from_state = case.state
    to_state = taken.dest
    record_was_public = case.record is not None and case.record.state in IN_PUBLICITY
    case.version += 1
    case.state = to_state
    for effect in taken.effects:
        EFFECTS[effect](case, action, actor)
    for upload, content_type in zip(action.uploads, content_types, strict=True):
        attach(case, actor, upload, content_type)
    if taken.refers and case.referred_at is None and waits_for_its_department(case):
        case.referred_at = clock.now()
    if taken.outcome:
        case.outcome = taken.outcome
        case.outcome_reason = action.reason
    if workflow.state(to_state).done and case.closed_at is None:
        case.closed_at = clock.now()
    elif not workflow.state(to_state).done:
        case.closed_at = None
    append_event(case, actor, taken.trigger, from_state, to_state, action.reason, event_data(action))
    if to_state != from_state:
        sync_timers(case, to_state)
    notify_transition(case, taken, actor)
    if record_was_public and case.record.state not in IN_PUBLICITY:
        end_cases_of_record(case.record)  # a repair or a revocation: what depended on it ends now
    return case


# Per kind of case, the trigger that ends it when its record leaves publicity, and the states
# it may leave: the open cases that can no longer be decided.
_ENDING = {
    kind: (w.on_record_left_publicity, w.sources(w.on_record_left_publicity))
    for kind, w in CASE_WORKFLOWS.items() if w.on_record_left_publicity
}
DEPENDENT_CASES = or_(*[(Case.kind == kind) & Case.state.in_(states) for kind, (_, states) in _ENDING.items()])


def end_cases_of_record(record: CreditRecord) -> int:
    """The one rule for a record that left publicity (retired, repaired, revoked): every open
    case on it that can no longer be decided ends by its workflow's ``on_record_left_publicity``,
    with the reason of the cause (``CASES_END_REASONS``), which the applicant reads on the case
    and is told of (``notify_transition``). A step: in the transaction of the transition that
    changed the record, and in the level-triggered job after retirement. The count ended.
    """
    reason = CASES_END_REASONS.get(record.state)
    if record.state in IN_PUBLICITY or reason is None:
        return 0
    cases = db.session.scalars(
        select(Case).where(Case.record_id == record.id, DEPENDENT_CASES).order_by(Case.id)
        .with_for_update().execution_options(populate_existing=True)
    ).all()
    for case in cases:
        trigger = _ENDING[case.kind][0]
        apply_transition(case, Action(trigger, None, reason=gettext(str(reason))), None)
    return len(cases)


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
    return CASE_WORKFLOWS[case.kind].available(case.state, user.role, guard_check(case, user))


def refused_actions(case: Case, user: User) -> list[tuple[Transition, str]]:
    """The steps of the case's state that the user's role could take but a guard refuses now,
    each with the refusal's text: the page says why an action is not offered."""
    if not can_view(user, case):
        return []
    workflow, check = CASE_WORKFLOWS[case.kind], guard_check(case, user)
    refused = []
    for t in workflow.transitions_from(case.state):
        if user.role not in t.actors or t.trigger in {r.trigger for r, _ in refused}:
            continue
        why = workflow.refusal(case.state, t.trigger, user.role, check)
        if why is not None:
            refused.append((t, reason_text(why)))
    return refused
