"""Bindings (主体认证): which accounts act for which subject, and the workflow that verifies them.

Its own aggregate (a binding is no credit case), below cases, which ask it who may see and file,
and beside records; it uses notices, policy and calendar. Use cases (each commits once, or
raises and is rolled back): ``send_documents``, ``decide_binding``, ``end_binding``,
``remind_identity_checks`` (the ``sla`` job: reminders and escalations), ``resolve_name_mismatch``
(an officer decides which name a subject has, ``names``). The rest
are queries. ``bind_verified`` is a step (``app.services.binding.verification``) for the
identity service's sign-in and the demo data.
"""
from app.services.binding.names import (
    KEEP,
    NameMismatchRow,
    get_name_mismatch,
    list_open_name_mismatches,
    list_open_name_mismatches_of,
    resolve_name_mismatch,
)
from app.services.binding.queries import (
    DocumentDownload,
    get_binding,
    get_current_binding,
    get_document,
    is_verified_for,
    list_binding_events,
    list_bindings_waiting,
    list_documents,
    list_verified_bindings,
    verified_subject_id,
)
from app.services.binding.verification import (
    REQUIRED,
    decide_binding,
    end_binding,
    identity_check_rule,
    remind_identity_checks,
    send_documents,
    with_identity_check,
)
from app.services.uploads import Upload

__all__ = [
    "KEEP", "REQUIRED", "DocumentDownload", "NameMismatchRow", "Upload", "decide_binding", "end_binding",
    "get_binding", "get_current_binding", "get_document", "get_name_mismatch", "identity_check_rule",
    "is_verified_for", "list_binding_events", "list_bindings_waiting", "list_documents", "list_open_name_mismatches",
    "list_open_name_mismatches_of", "list_verified_bindings", "remind_identity_checks", "resolve_name_mismatch",
    "send_documents", "verified_subject_id", "with_identity_check",
]
