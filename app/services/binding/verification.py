"""The binding workflow carried out: documents sent, checked by an officer, verified, ended.

Every step asks the workflow (``workflows/binding.py``), evaluates its guards here on real
data, carries out its effects by name, appends one event and writes the notices, in one
transaction. The identity check's deadline comes from the policy version in force
(``sla.binding.identity_check``) or, where that version has none, ``DEFAULT_IDENTITY_CHECK``.
"""
from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.errors import Conflict, Forbidden, InvalidInput
from app.extensions import db
from app.models import BindingDocument, BindingEvent, Notification, Subject, SubjectBinding, User
from app.models.enums import BindingCapacity, BindingDocumentKind, BindingMethod, NameMismatchOrigin, Role, SubjectKind
from app.services.accounts.sessions import EndReason, end_all_sessions
from app.services.accounts.subjects import note_subject_name
from app.services.binding.queries import (
    WAITING,
    get_binding,
    get_current_binding,
    is_verified_for,
    list_verified_bindings,
)
from app.services.calendar import add_period, get_working_calendar
from app.services.notices.outbox import enqueue
from app.services.policy import ClockRule, clock_rule, get_policy_in_force
from app.services.transaction import use_case
from app.services.uploads import Upload, check_upload, safe_filename, store
from workflows import BINDING, SYSTEM, BindingState, BindingTrigger, TransitionRefused

DEFAULT_IDENTITY_CHECK = {"wd": 2}  # policy v1 predates bindings: two working days
_CHECK_CLOCK = BINDING.clocks[0].name

# The documents an officer needs, by subject kind and capacity.
REQUIRED = {
    (SubjectKind.NATURAL, BindingCapacity.SELF): {BindingDocumentKind.IDENTITY_CARD},
    (SubjectKind.LEGAL, BindingCapacity.LEGAL_REPRESENTATIVE): {
        BindingDocumentKind.BUSINESS_LICENCE, BindingDocumentKind.IDENTITY_CARD},
    (SubjectKind.LEGAL, BindingCapacity.AGENT): {
        BindingDocumentKind.BUSINESS_LICENCE, BindingDocumentKind.IDENTITY_CARD,
        BindingDocumentKind.AUTHORISATION_LETTER},
}

_REFUSALS = {
    "not_allowed_in_state": _l("This step is not possible in the binding's current state."),
    "not_allowed_for_role": _l("You may not take this step on the binding."),
    "is_account_holder": _l("Only the account holder sends its documents."),
    "documents_complete": _l("Upload every document the verification needs."),
    "may_end_binding": _l("Only the account holder, the subject's legal representative or an officer may end "
                          "this binding."),
}


def _refused(error: TransitionRefused) -> Conflict | Forbidden:
    message = _REFUSALS.get(error.reason, _REFUSALS["not_allowed_in_state"])
    return Forbidden(message) if error.reason != "not_allowed_in_state" else Conflict(message)


def _actor_role(actor: User | None) -> str:
    return SYSTEM if actor is None else str(actor.role)


def _documents_of(binding: SubjectBinding) -> set[str]:
    return set(db.session.scalars(select(BindingDocument.kind).where(BindingDocument.binding_id == binding.id)))


def _guard_check(binding: SubjectBinding, actor: User | None) -> Callable[[str], str | None]:
    def check(guard: str) -> str | None:
        if guard == "is_account_holder":
            return None if actor is not None and actor.id == binding.user_id else guard
        if guard == "documents_complete":
            needed = REQUIRED.get((binding.subject.kind, binding.capacity))
            return None if needed is not None and needed <= _documents_of(binding) else guard
        if guard == "may_end_binding":
            if actor is None or actor.role in (Role.OFFICER, Role.SUPERVISOR) or actor.id == binding.user_id:
                return None
            return None if _is_legal_representative(actor, binding.subject_id) else guard
        raise KeyError(f"binding guard {guard} is not implemented")

    return check


def _is_legal_representative(user: User, subject_id: int) -> bool:
    return is_verified_for(user, subject_id) and any(
        b.user_id == user.id and b.capacity == BindingCapacity.LEGAL_REPRESENTATIVE
        for b in list_verified_bindings(subject_id)
    )


def identity_check_rule(body: dict) -> ClockRule:
    """The identity check's length under a policy version's body (the default where it has none)."""
    spec = body.get("sla", {}).get(BINDING.name, {}).get(_CHECK_CLOCK, DEFAULT_IDENTITY_CHECK)
    return clock_rule({"sla": {BINDING.name: {_CHECK_CLOCK: spec}}}, BINDING.name, _CHECK_CLOCK)


def with_identity_check(body: dict) -> dict:
    """``body`` with the identity check's length written out (the default where the version has
    none), so the admin's policy draft shows it beside the cases' clocks and saves it."""
    sla = body.get("sla", {})
    if _CHECK_CLOCK in sla.get(BINDING.name, {}):
        return body
    return {**body, "sla": {**sla, BINDING.name: {**sla.get(BINDING.name, {}),
                                                  _CHECK_CLOCK: dict(DEFAULT_IDENTITY_CHECK)}}}


def _identity_check_deadline():
    rule = identity_check_rule(get_policy_in_force().body)
    today = clock.today()
    if rule.unit == "wd":
        return clock.end_of_day(get_working_calendar().add_working_days(today, rule.length))
    return clock.end_of_day(add_period(today, rule.length, "d"))


def _fire(binding: SubjectBinding, trigger: str, actor: User | None, reason: str | None = None,
          method: str | None = None) -> None:
    """One step of the workflow on ``binding``: state, deadline, effects, event, notices."""
    try:
        taken = BINDING.fire(binding.state, trigger, _actor_role(actor), _guard_check(binding, actor))
    except TransitionRefused as error:
        raise _refused(error) from None
    if taken.reason_required and not (reason or "").strip():
        raise InvalidInput(_l("Please give a reason."))
    from_state = binding.state
    binding.state = taken.dest
    entering = BINDING.state(taken.dest)
    binding.due_at = _identity_check_deadline() if entering.has_sla else None
    binding.due_soon_at = None
    if reason:
        binding.reason = reason.strip()
    if actor is not None and actor.role in (Role.OFFICER, Role.SUPERVISOR):
        binding.reviewer_id = actor.id
    if taken.dest == BindingState.VERIFIED:
        binding.method = method or BindingMethod.OFFICER
        binding.verified_at = clock.now()
    if entering.final:
        binding.ended_at = clock.now()
    binding.version += 1
    seq = (db.session.scalar(select(func.max(BindingEvent.seq)).where(BindingEvent.binding_id == binding.id)) or 0) + 1
    db.session.add(BindingEvent(binding_id=binding.id, seq=seq, trigger=taken.trigger, from_state=from_state,
                                to_state=taken.dest, reason=reason, actor_id=actor.id if actor else None,
                                data={"method": binding.method} if binding.verified_at and method else None))
    db.session.flush()
    for effect in taken.effects:
        _EFFECTS[effect](binding)
    _tell_account_holder(binding, taken.trigger)


def _tell_bound_accounts(binding: SubjectBinding) -> None:
    """Every other account that acts for the subject hears of the new one."""
    for other in list_verified_bindings(binding.subject_id):
        if other.id != binding.id:
            enqueue(f"binding-added:{binding.id}:{other.user_id}", "binding_added",
                    {"subject": binding.subject.name, "account": binding.user.username}, user_id=other.user_id)


_EFFECTS = {"tell_bound_accounts": _tell_bound_accounts}
_TEMPLATES = {BindingTrigger.VERIFY: "binding_verified", BindingTrigger.VERIFY_BY_CLAIMS: "binding_verified",
              BindingTrigger.REFUSE: "binding_refused", BindingTrigger.END_BINDING: "binding_ended"}


def _tell_account_holder(binding: SubjectBinding, trigger: str) -> None:
    template = _TEMPLATES.get(trigger)
    if template:
        enqueue(f"binding:{binding.id}:v{binding.version}", template,
                {"subject": binding.subject.name, "reason": binding.reason or ""}, user_id=binding.user_id)


def _open_binding(user: User, capacity: str) -> SubjectBinding:
    """The account's open binding, or a new one (not verified) for the subject it signed up for."""
    subject = db.session.get(Subject, user.subject_id) if user.subject_id else None
    if user.role != Role.APPLICANT or subject is None:
        raise Forbidden(_REFUSALS["not_allowed_for_role"])
    if (subject.kind, capacity) not in REQUIRED:
        raise InvalidInput(_l("Choose in which capacity you act for this subject."))
    binding = get_current_binding(user)
    if binding is None:
        binding = new_binding(user, subject, capacity)
    elif binding.state == BINDING.initial:
        binding.capacity = capacity  # refused, sent again: perhaps in another capacity
    return binding


def new_binding(user: User, subject: Subject, capacity: str, claimed_name: str | None = None) -> SubjectBinding:
    """A step: ``user``'s binding to ``subject``, not verified, under the name the account holder
    gave for the subject (the platform's name when it gave none), for the officer to check."""
    binding = SubjectBinding(user_id=user.id, subject_id=subject.id, capacity=capacity,
                             state=BINDING.initial, claimed_name=claimed_name or subject.name)
    db.session.add(binding)
    db.session.flush()
    return binding


@use_case
def send_documents(user: User, capacity: str, uploads: list[Upload]) -> SubjectBinding:
    """The account holder uploads its licence or identity card (and an agent its authorisation
    letter): the binding waits for an officer's identity check, against its deadline."""
    binding = _open_binding(user, capacity)
    if binding.state != BINDING.initial:
        raise Conflict(_REFUSALS["not_allowed_in_state"])
    for upload in uploads:
        if upload.purpose not in set(BindingDocumentKind):
            raise InvalidInput(_REFUSALS["documents_complete"])
        content_type = check_upload(upload)
        db.session.add(BindingDocument(
            binding_id=binding.id, uploaded_by_id=user.id, kind=upload.purpose,
            filename=safe_filename(upload.filename), content_type=content_type,
            size_bytes=len(upload.data), sha256=store(upload.data)))
    db.session.flush()
    _fire(binding, BindingTrigger.SEND_DOCUMENTS, user)
    db.session.commit()
    return binding


@use_case
def decide_binding(officer: User, binding_id: int, trigger: str, reason: str | None,
                   expected_version: int | None) -> SubjectBinding:
    """An officer verifies the binding, or refuses it with the reason (the documents go back).

    Verified, the name the account holder gave is the one the officer checked against the
    documents: a subject named only by a claim takes it as its checked name; a name a department
    or a verification gave stands, and a different one is kept beside it for the names list.
    """
    binding = get_binding(binding_id)
    if expected_version is not None and expected_version != binding.version:
        raise Conflict(_l("Someone changed this binding meanwhile. Please look at it again."))
    if trigger not in (BindingTrigger.VERIFY, BindingTrigger.REFUSE):
        raise Forbidden(_REFUSALS["not_allowed_for_role"])
    _fire(binding, trigger, officer, reason)
    if trigger == BindingTrigger.VERIFY:
        note_subject_name(binding.subject, binding.claimed_name, NameMismatchOrigin.OFFICER)
    db.session.commit()
    return binding


@use_case
def end_binding(actor: User, binding_id: int, reason: str) -> SubjectBinding:
    """The account holder gives the binding up, the subject's legal representative ends an
    agent's, or an officer ends one; the account's access ends with it, and so do its sessions
    (issue 13: what it could see was granted by the binding)."""
    binding = get_binding(binding_id)
    _fire(binding, BindingTrigger.END_BINDING, actor, reason)
    end_all_sessions(binding.user_id, EndReason.BINDING_ENDED)
    db.session.commit()
    return binding


def bind_verified(user: User, method: str, capacity: str | None = None) -> SubjectBinding:
    """A step: ``user`` verified for its subject at once, by the identity service's claims or in
    the demo data (a system step, with its event)."""
    subject = db.session.get(Subject, user.subject_id)
    capacity = capacity or (BindingCapacity.SELF if subject.kind == SubjectKind.NATURAL
                            else BindingCapacity.LEGAL_REPRESENTATIVE)
    binding = get_current_binding(user) or new_binding(user, subject, capacity)
    if binding.state == BindingState.VERIFIED:
        return binding
    trigger = BindingTrigger.VERIFY_BY_CLAIMS if method == BindingMethod.OIDC else BindingTrigger.VERIFY_BY_MIGRATION
    _fire(binding, trigger, None, method=method)
    return binding


@use_case
def remind_identity_checks() -> int:
    """The ``sla`` job's part for bindings: each identity check due within the reminder lead (or
    overdue) is told once to the officers; each one past its deadline is escalated once to the
    active supervisors (``binding_overdue``, as the cases' breaches are). Returns how many
    reminders went out.

    The keys name the binding and its deadline, so a second run writes nothing new, and a binding
    sent again after a refusal (a new deadline) is reminded and escalated anew.
    """
    now = clock.now()
    body = get_policy_in_force().body
    reminders = body.get("reminders", {})
    lead = int(reminders.get("due_soon_before", {}).get("wd", 1))
    horizon = clock.end_of_day(get_working_calendar().add_working_days(clock.today(), lead))
    due = db.session.scalars(
        select(SubjectBinding)
        .where(SubjectBinding.state.in_(WAITING), SubjectBinding.due_soon_at.is_(None),
               SubjectBinding.due_at <= horizon)
        .with_for_update(skip_locked=True)
    ).all()
    officers = db.session.scalars(
        select(User.id).where(User.role == Role.OFFICER, User.is_active.is_(True))).all()
    for binding in due:
        binding.due_soon_at = now
        for officer_id in officers:
            enqueue(f"binding-due:{binding.id}:{binding.due_at.isoformat()}:{officer_id}", "binding_due",
                    _check_payload(binding), user_id=officer_id)
    _escalate_overdue_checks(now)
    db.session.commit()
    return len(due)


def _check_payload(binding: SubjectBinding) -> dict:
    return {"subject": binding.subject.name, "due_at": clock.local(binding.due_at).strftime("%Y-%m-%d")}


def _escalate_overdue_checks(now) -> int:
    """A step: every identity check past its deadline, told once per deadline to each active
    supervisor; returns how many notices were written."""
    overdue = db.session.scalars(
        select(SubjectBinding)
        .where(SubjectBinding.state.in_(WAITING), SubjectBinding.due_at < now)
        .order_by(SubjectBinding.due_at, SubjectBinding.id)
    ).all()
    if not overdue:
        return 0
    supervisors = db.session.scalars(
        select(User.id).where(User.role == Role.SUPERVISOR, User.is_active.is_(True))).all()
    wanted = {f"binding-overdue:{b.id}:{b.due_at.isoformat()}:{s}": (b, s) for b in overdue for s in supervisors}
    if not wanted:
        return 0
    written = set(db.session.scalars(select(Notification.key).where(Notification.key.in_(list(wanted)))))
    escalations = 0
    for key, (binding, supervisor_id) in wanted.items():
        if key not in written:
            escalations += int(enqueue(key, "binding_overdue", _check_payload(binding), user_id=supervisor_id))
    return escalations
