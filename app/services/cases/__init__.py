"""Cases (objections, complaints, repairs): submission, transitions, access, queues, the case page.

Use cases own their transaction (``submit_case``, ``transition_case``, ``apply_to_many``, ``recount_queues``,
``fire_breach_triggers``, ``close_cases_on_retired_records``): each commits once (the last
three once per case or per run) or raises, and the session is rolled back. The rest are
queries, predicates and the types they take. The modules' other functions (``apply_transition``,
``lock_case``, ``next_case_number``, ...) are steps inside a caller's transaction, for the service
packages above this one (``admin``), imported from their module, never by views.
"""
from app.services.cases.access import can_view, get_case_for, list_cases_of_subject
from app.services.cases.automatic import close_cases_on_retired_records, fire_breach_triggers
from app.services.cases.files import Upload
from app.services.cases.guards import OPEN_DONE, repair_eligibility
from app.services.cases.history import list_events
from app.services.cases.page import CasePage, Download, get_case_page, get_download
from app.services.cases.queue_counts import open_queue_counts, queue_count_drift, recount_queues
from app.services.cases.queues import (
    BULK_TRIGGERS,
    BulkResult,
    QueueCursor,
    QueueFilter,
    apply_to_many,
    count_open_cases,
    due_soon_horizon,
    list_cases_waiting_for_department,
    list_open_cases,
    list_queue,
    queue_choices,
)
from app.services.cases.refusals import REFUSALS, reason_text
from app.services.cases.submission import (
    AlreadySubmitted,
    OpenCaseExists,
    RepeatComplaint,
    Submission,
    find_open_case,
    submit_case,
)
from app.services.cases.transitions import VERIFICATION_RESULTS, Action, available_actions, transition_case

__all__ = [
    "AlreadySubmitted", "OpenCaseExists", "RepeatComplaint", "find_open_case",
    "BULK_TRIGGERS", "OPEN_DONE", "REFUSALS", "VERIFICATION_RESULTS", "Action", "BulkResult", "CasePage",
    "Download", "QueueCursor", "QueueFilter", "Submission", "Upload", "apply_to_many", "available_actions", "can_view",
    "close_cases_on_retired_records", "count_open_cases", "due_soon_horizon", "fire_breach_triggers",
    "get_case_for", "get_case_page", "get_download", "list_cases_of_subject", "list_cases_waiting_for_department",
    "list_events", "list_open_cases", "list_queue", "open_queue_counts", "queue_choices", "queue_count_drift", "reason_text",
    "recount_queues", "repair_eligibility", "submit_case",
    "transition_case",
]
