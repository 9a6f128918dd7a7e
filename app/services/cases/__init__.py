"""Cases (objections, complaints, repairs): submission, transitions, access, queues.

Use cases own their transaction (``submit_case``, ``transition_case``, ``apply_to_many``,
``fire_breach_triggers``, ``close_cases_on_retired_records``); the rest are queries. The
modules' other functions are steps inside a caller's transaction, for the service packages
above this one (``admin``), never for views.
"""
from app.services.cases.access import can_view, get_case_for, list_cases_of_subject
from app.services.cases.automatic import close_cases_on_retired_records, fire_breach_triggers
from app.services.cases.guards import OPEN_DONE, repair_eligibility
from app.services.cases.history import list_events
from app.services.cases.queues import (
    BulkResult,
    QueueCursor,
    QueueFilter,
    apply_to_many,
    count_open_cases,
    due_soon_horizon,
    list_open_cases,
    list_queue,
)
from app.services.cases.refusals import REFUSALS, reason_text
from app.services.cases.submission import Submission, next_case_number, submit_case
from app.services.cases.transitions import VERIFICATION_RESULTS, Action, available_actions, transition_case

__all__ = [
    "OPEN_DONE", "REFUSALS", "VERIFICATION_RESULTS", "Action", "BulkResult", "QueueCursor", "QueueFilter",
    "Submission", "apply_to_many", "available_actions", "can_view", "close_cases_on_retired_records",
    "count_open_cases", "due_soon_horizon", "fire_breach_triggers", "get_case_for", "list_cases_of_subject",
    "list_events", "list_open_cases", "list_queue", "next_case_number", "reason_text", "repair_eligibility",
    "submit_case", "transition_case",
]
