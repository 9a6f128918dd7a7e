"""Screen names of the domain's codes (DESIGN section 10): Chinese on screen, English in code."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from workflows import ALL_WORKFLOWS, BINDING, CASE_WORKFLOWS, RECORD, RecordTrigger

LABELS = {
    "role": {
        "applicant": _l("Applicant"),
        "officer": _l("Case officer"),
        "department": _l("Department user"),
        "supervisor": _l("Supervisor"),
        "admin": _l("Administrator"),
    },
    "subject_kind": {
        "legal": _l("Legal entity"),
        "natural": _l("Natural person"),
    },
    "category": {
        "administrative_penalty": _l("Administrative penalty"),
        "serious_dishonesty_list": _l("Serious dishonesty list"),
        "abnormal_operation_list": _l("Abnormal operation list"),
        "other": _l("Other dishonesty record"),
    },
    "severity": {
        "minor": _l("Minor"),
        "general": _l("General"),
        "serious": _l("Serious"),
    },
    "case_kind": {w.name: _l(w.label) for w in CASE_WORKFLOWS.values()},
    "notice": {
        "case_submitted": _l("Application submitted"),
        "case_changed": _l("Your case moved on"),
        "case_referred": _l("Case referred to your department"),
        "opinion_requested": _l("Your department's opinion requested"),
        "record_corrected": _l("Record corrected"),
        "record_revoked": _l("Record revoked"),
        "record_repaired": _l("Record repaired"),
        "record_republished": _l("Record published again"),
        "records_retired": _l("Records retired at publicity end"),
        "record_retired": _l("Your record left publicity"),
        "record_leaving_soon": _l("Your record leaves publicity soon"),
        "sla_due_soon": _l("Deadline approaching"),
        "sla_breached": _l("Deadline passed"),
        "case_assigned": _l("A case was assigned to you"),
        "binding_verified": _l("Verified for a subject"),
        "binding_refused": _l("Verification refused"),
        "binding_ended": _l("Binding ended"),
        "binding_added": _l("Another account verified for your subject"),
        "binding_due": _l("Identity check due"),
        "binding_overdue": _l("Identity check overdue"),
        "sign_up_link": _l("Sign-up link (to an address)"),
        "sign_up_exists": _l("Sign-up for an address that has an account"),
        "password_reset_link": _l("Password link (by e-mail)"),
    },
    "actor": {
        "applicant": _l("Applicant"),
        "officer": _l("Case officer"),
        "supervisor": _l("Supervisor"),
        "department": _l("Department user"),
        "system": _l("System (scheduled job)"),
    },
    "binding_capacity": {
        "self": _l("The person itself"),
        "legal_representative": _l("Legal representative"),
        "agent": _l("Agent with an authorisation letter"),
    },
    "binding_document": {
        "business_licence": _l("Business licence"),
        "identity_card": _l("Resident identity card"),
        "authorisation_letter": _l("Authorisation letter"),
    },
    "binding_method": {
        "officer": _l("Checked by an officer"),
        "oidc": _l("Identity service"),
        "migration": _l("Verified by migration"),
        "demo": _l("Demo data"),
    },
    "name_source": {  # whose word a subject's name is (issue 12)
        "department": _l("A department's record"),
        "verified": _l("Verified"),
        "claimed": _l("Claimed at sign-up, not verified"),
    },
    "name_origin": {  # who gave a name that differs from the platform's
        "department": _l("Department record"),
        "officer": _l("Documents an officer verified"),
        "oidc": _l("Identity service"),
    },
    "sanction_kind": {
        "warning": _l("Warning"),
        "fine": _l("Fine"),
        "confiscation": _l("Confiscation of illegal gains"),
        "listing": _l("Listing"),
        "licence_revoked": _l("Licence revoked"),
        "business_restricted": _l("Business restricted"),
        "employment_restricted": _l("Employment restricted"),
    },
    "audit_kind": {  # the three trails of the audit timeline
        "admin": _l("Admin"),
        "case": _l("Case"),
        "record": _l("Record"),
    },
    "object_type": {  # what an audit entry is about
        "case": _l("Case"),
        "record": _l("Record"),
        "user": _l("Account"),
        "subject": _l("Subject"),
        "department": _l("Department"),
        "api_key": _l("API key"),
        "webhook": _l("Webhook"),
        "policy": _l("Policy"),
        "calendar_override": _l("Calendar"),
        "notification": _l("Notice"),
        "job": _l("Job"),
    },
    "party": {  # whose figures a forecast row holds: whom a clock binds, or a record's department
        "department": _l("Department"),
        "platform": _l("Platform"),
        "applicant": _l("Applicants"),
    },
    "charged_to": {  # whose step a deadline was
        "platform": _l("Platform"),
        "department": _l("Department"),
    },
    "admin_action": {  # what an admin_audit row records
        "apikey.create": _l("API key issued"),
        "apikey.revoke": _l("API key revoked"),
        "calendar.add": _l("Calendar day added"),
        "calendar.change": _l("Calendar day changed"),
        "calendar.import": _l("Calendar imported"),
        "calendar.remove": _l("Calendar day removed"),
        "department.create": _l("Department created"),
        "department.update": _l("Department changed"),
        "job.run": _l("Job run by hand"),
        "outbox.retry": _l("Notices sent again"),
        "policy.create": _l("Policy version saved"),
        "policy.recompute": _l("Policy recomputed"),
        "policy.recompute_requested": _l("Policy recompute requested"),
        "policy.withdraw": _l("Policy version withdrawn"),
        "subject.name_resolve": _l("Subject name resolved"),
        "user.activate": _l("Account activated"),
        "user.create": _l("Account created"),
        "user.deactivate": _l("Account deactivated"),
        "user.password_reset": _l("Password link sent"),
        "user.role": _l("Role changed"),
        "user.sessions_end": _l("Sessions ended"),
        "user.two_factor_reset": _l("Second factor reset"),
        "webhook.activate": _l("Webhook activated"),
        "webhook.create": _l("Webhook created"),
        "webhook.deactivate": _l("Webhook deactivated"),
    },
    "notice_status": {  # where a notice of the outbox is
        "pending": _l("Waiting"),
        "sending": _l("Sending"),
        "sent": _l("Sent"),
        "dead": _l("Undelivered"),
    },
    "channel": {
        "inbox": _l("Inbox"),
        "email": _l("E-mail"),
        "webhook": _l("Webhook"),
    },
    "sector": {  # the fields whose records are kept under their own rules (a record's sector)
        "special_equipment": _l("Special equipment"),
        "work_safety": _l("Work safety"),
        "fire": _l("Fire safety"),
    },
    "import_action": {  # what an import row does (its action column)
        "new": _l("New record (leave the column empty)"),
        str(RecordTrigger.CORRECT): _l("Correction of a record already provided"),  # the row's trigger
    },
    "job": {  # the scheduled jobs (app.services.admin.jobs.JOBS), by name
        "expire": _l("Record expiry"),
        "sla": _l("Deadline sweep"),
        "dispatch": _l("Notice delivery"),
        "purge": _l("Retention purge"),
        "statistics": _l("Public statistics"),
    },
    # What a job's run did, one phrase per field of its result (ExpiryResult, SweepResult,
    # DispatchResult, PurgeResult, SnapshotResult) by "job.field", ``n`` its value.
    "job_result": {
        "expire.retired": _l("Records retired: %(n)s"),
        "expire.batches": _l("Batches: %(n)s"),
        "expire.departments_told": _l("Departments told: %(n)s"),
        "expire.cases_closed": _l("Cases closed: %(n)s"),
        "expire.subjects_told": _l("Subjects told their record leaves soon: %(n)s"),
        "expire.run_id": _l("Expiry run: no. %(n)s"),
        "expire.record_ids": _l("Record numbers kept: %(n)s"),
        "sla.due_soon": _l("Reminders of deadlines due soon: %(n)s"),
        "sla.breached": _l("Deadlines passed: %(n)s"),
        "sla.escalations": _l("Escalations: %(n)s"),
        "sla.auto_transitions": _l("Automatic steps taken: %(n)s"),
        "dispatch.claimed": _l("Notices taken up: %(n)s"),
        "dispatch.sent": _l("Notices sent: %(n)s"),
        "dispatch.retrying": _l("To be tried again: %(n)s"),
        "dispatch.dead": _l("Undelivered: %(n)s"),
        "dispatch.messages": _l("Messages sent: %(n)s"),
        "dispatch.postponed": _l("Postponed to a later run: %(n)s"),
        "purge.purged": _l("Records purged: %(n)s"),
        "purge.batches": _l("Batches: %(n)s"),
        "purge.cases_erased": _l("Cases erased: %(n)s"),
        "purge.subjects_erased": _l("Subjects erased: %(n)s"),
        "purge.files_deleted": _l("Files deleted: %(n)s"),
        "purge.orphan_files_deleted": _l("Stray files deleted: %(n)s"),
        "purge.sign_up_requests": _l("Sign-up requests removed: %(n)s"),
        "purge.sessions": _l("Old sessions removed: %(n)s"),
        "purge.two_factor_challenges": _l("Lapsed second-factor sign-ins removed: %(n)s"),
        "purge.sign_in_attempts": _l("Old sign-in attempts removed: %(n)s"),
        "purge.import_reports": _l("Import reports cleared: %(n)s"),
        "statistics.snapshot_id": _l("Statistics snapshot: no. %(n)s"),
        "statistics.rows": _l("Rows published: %(n)s"),
        "statistics.removed": _l("Older snapshots removed: %(n)s"),
    },
    "guard": {
        "record_in_publicity": _l("record in publicity"),
        "is_case_department": _l("the case's department"),
        "is_applicant": _l("the applicant"),
        "is_handler": _l("the handler"),
        "not_reopened_before": _l("not reopened before"),
        "not_extended_before": _l("not extended before"),
        "repair_eligible": _l("repair eligibility"),
        "department_opinion_if_required": _l("department opinion where required"),
        "supplement_window_open": _l("within the supplement period"),
        "unassigned": _l("nobody handles it yet"),
        "reopen_window_open": _l("within the reopen window"),
        "not_complained_of": _l("not the handler of the case complained of"),
        "is_account_holder": _l("the account holder"),
        "documents_complete": _l("every document the verification needs"),
        "may_end_binding": _l("the account holder, the legal representative or an officer"),
    },
}


def _agreed(pairs) -> dict:
    """Values by code; a code shared by several workflows must be given alike in each."""
    values: dict = {}
    for code, value in pairs:
        if values.setdefault(code, value) != value:
            raise ValueError(f"{code} is given both {values[code]!r} and {value!r}")
    return values


def _vocabulary(pairs) -> dict:
    return {code: _l(text) for code, text in _agreed(pairs).items()}


# The workflows' own vocabularies come from their definitions, which carry the English labels.
_CASES = tuple(CASE_WORKFLOWS.values())
LABELS.update({
    "case_state": _vocabulary((s.name, s.label) for w in _CASES for s in w.states),
    "record_state": _vocabulary((s.name, s.label) for s in RECORD.states),
    "binding_state": _vocabulary((s.name, s.label) for s in BINDING.states),
    "trigger": {
        # Events that open a history rather than move along it: not steps of a workflow.
        "submit": _l("Submit"),
        "publish": _l("Publish"),
        **_vocabulary((t.trigger, t.label) for w in ALL_WORKFLOWS for t in w.transitions),
    },
    "workflow": _vocabulary((w.name, w.label) for w in ALL_WORKFLOWS),
    "clock": _vocabulary((c.name, c.label) for w in (*_CASES, BINDING) for c in w.clocks),
    "verification": _vocabulary((f.name, f.label) for w in _CASES for t in w.transitions for f in t.findings),
    # What a decision decided (``Case.outcome``), named as the decision's button is.
    "outcome": _vocabulary((t.outcome, t.label) for w in _CASES for t in w.transitions if t.outcome),
})


def label(vocabulary: str, code: str | None) -> str:
    if code is None:
        return ""
    if vocabulary == "state":  # diagram states: case states, else record or binding states
        vocabulary = next((v for v in ("case_state", "record_state", "binding_state") if code in LABELS[v]),
                          "record_state")
    return str(LABELS.get(vocabulary, {}).get(code, code))


# Decision text templates offered on the case page for the reason of an action, by workflow and
# trigger (a trigger shared by workflows, such as ``not_accept``, has each workflow's own grounds).
REASON_TEMPLATES = {
    (w.name, t.trigger): tuple(_l(text) for text in t.templates)
    for w in _CASES for t in w.transitions if t.templates
}
