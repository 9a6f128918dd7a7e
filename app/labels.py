"""Screen names of the domain's codes (DESIGN section 10): Chinese on screen, English in code."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
    "record_state": {
        "published": _l("In publicity"),
        "corrected": _l("In publicity (corrected)"),
        "repaired": _l("Repaired"),
        "revoked": _l("Revoked"),
        "retired": _l("Publicity ended"),
        "purged": _l("Purged"),
    },
    "case_kind": {
        "objection": _l("Objection"),
        "complaint": _l("Complaint"),
        "repair": _l("Credit repair"),
    },
    "case_state": {
        "submitted": _l("Submitted"),
        "awaiting_supplement": _l("Awaiting supplement"),
        "accepted": _l("Accepted"),
        "not_accepted": _l("Not accepted"),
        "referred": _l("Referred to department"),
        "replied": _l("Department replied"),
        "decided": _l("Decided"),
        "under_review": _l("Under review"),
        "awaiting_department": _l("Awaiting department opinion"),
        "approved": _l("Repair approved"),
        "denied": _l("Repair denied"),
        "revoked": _l("Repair revoked"),
        "assigned": _l("Assigned"),
        "responded": _l("Responded"),
        "closed": _l("Closed"),
        "withdrawn": _l("Withdrawn"),
        "lapsed": _l("Lapsed"),
    },
    "trigger": {
        "submit": _l("Submit"),
        "accept": _l("Accept"),
        "not_accept": _l("Not accept"),
        "request_supplement": _l("Ask for supplement"),
        "supplement": _l("Supply material"),
        "lapse": _l("Lapse"),
        "refer": _l("Refer to department"),
        "reply": _l("Reply to referral"),
        "decide_correct": _l("Decide: correct"),
        "decide_revoke": _l("Decide: revoke"),
        "decide_maintain": _l("Decide: maintain"),
        "decide_unresolved": _l("Decide: unresolved"),
        "close": _l("Close"),
        "withdraw": _l("Withdraw"),
        "close_on_retirement": _l("Close on record retirement"),
        "ask_department": _l("Ask department opinion"),
        "give_opinion": _l("Give opinion"),
        "extend": _l("Extend deadline"),
        "approve": _l("Approve"),
        "deny": _l("Deny"),
        "revoke_for_fraud": _l("Revoke for false material"),
        "assign": _l("Assign"),
        "respond": _l("Respond"),
        "reopen": _l("Reopen"),
        "claim": _l("Claim"),
        "reassign": _l("Reassign"),
        "recompute": _l("Recompute under a new policy version"),
        "publish": _l("Publish"),
        "mark_objection": _l("Mark under objection"),
        "clear_objection": _l("Clear objection mark"),
        "correct": _l("Correct"),
        "revoke": _l("Revoke"),
        "repair": _l("Repair"),
        "republish": _l("Publish again"),
        "expire": _l("Retire at publicity end"),
        "purge": _l("Purge personal data"),
    },
    "workflow": {
        "objection": _l("Objection"),
        "repair": _l("Credit repair"),
        "complaint": _l("Complaint"),
        "record": _l("Record lifecycle"),
    },
    "clock": {
        "accept": _l("Acceptance"),
        "refer": _l("Referral"),
        "verify": _l("Department verification (target)"),
        "verify_limit": _l("Department verification (hard limit)"),
        "overall": _l("Overall"),
        "supplement": _l("Supplement by the applicant"),
        "department_opinion": _l("Department opinion"),
        "reply": _l("Final reply"),
        "reopen_window": _l("Reopen window"),
    },
    "verification": {
        "correct": _l("The record is correct"),
        "corrected": _l("The record needs correcting"),
        "revoke": _l("The record must be revoked"),
    },
    "notice": {
        "case_submitted": _l("Application submitted"),
        "case_changed": _l("Your case moved on"),
        "case_referred": _l("Case referred to your department"),
        "record_corrected": _l("Record corrected"),
        "record_revoked": _l("Record revoked"),
        "record_repaired": _l("Record repaired"),
        "record_republished": _l("Record published again"),
        "records_retired": _l("Records retired at publicity end"),
        "record_retired": _l("Your record left publicity"),
        "sla_due_soon": _l("Deadline approaching"),
        "sla_breached": _l("Deadline passed"),
        "case_assigned": _l("A case was assigned to you"),
    },
    "actor": {
        "applicant": _l("Applicant"),
        "officer": _l("Case officer"),
        "supervisor": _l("Supervisor"),
        "department": _l("Department user"),
        "system": _l("System (scheduled job)"),
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
    },
}


def label(vocabulary: str, code: str | None) -> str:
    if code is None:
        return ""
    if vocabulary == "state":  # diagram states: case states, or record states where only they exist
        vocabulary = "case_state" if code in LABELS["case_state"] else "record_state"
    return str(LABELS.get(vocabulary, {}).get(code, code))


# Decision text templates offered on the case page for the reason of an action.
REASON_TEMPLATES = {
    "not_accept": (
        _l("The application is outside the scope of objections: it does not concern the accuracy of a published record."),
        _l("The same matter has already been decided; no new facts or evidence were given."),
        _l("The material is incomplete and was not supplemented in time."),
    ),
    "request_supplement": (
        _l("Please supply a copy of the decision document and the evidence you refer to."),
        _l("Please supply the proof that the fine was paid (receipt or bank transfer record)."),
    ),
    "decide_correct": (
        _l("The department confirmed an error in the published record; it has been corrected as shown."),
    ),
    "decide_revoke": (
        _l("The underlying decision was revoked; the record is withdrawn from publicity."),
    ),
    "decide_maintain": (
        _l("The department verified the record as accurate; it is maintained and the objection mark removed."),
    ),
    "decide_unresolved": (
        _l("The facts could not be established; the department's verification and the objection are both recorded."),
    ),
    "approve": (
        _l("The obligation was fulfilled and the credit commitment signed: the repair is approved."),
    ),
    "deny": (
        _l("The obligation has not been fulfilled in full; the repair is denied."),
    ),
}
