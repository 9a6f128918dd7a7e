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
        "under_review": _l("Under review"),
        "closed": _l("Closed"),
        "withdrawn": _l("Withdrawn"),
    },
}


def label(vocabulary: str, code: str | None) -> str:
    if code is None:
        return ""
    return str(LABELS.get(vocabulary, {}).get(code, code))
