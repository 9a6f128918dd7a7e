"""Complaint (投诉): about a record, a department or the handling of a case (DESIGN sections 5, 9)."""
from workflows.definition import SYSTEM, Clock, State, Workflow, handling, transition

APPLICANT, OFFICER, DEPARTMENT = "applicant", "officer", "department"
STAFF = (OFFICER, "supervisor")

COMPLAINT = Workflow(
    name="complaint",
    initial="submitted",
    clocks=(
        Clock("accept", description="accept or not"),
        Clock("reply", description="final written reply, from acceptance"),
        Clock("reopen_window", on_breach="close", description="the applicant may reopen once"),
    ),
    states=(
        State("submitted", clocks=("accept",)),
        State("accepted", clocks=("reply",)),
        State("assigned", clocks=("reply",)),
        State("responded", clocks=("reopen_window",), done=True),
        State("closed", final=True),
        State("not_accepted", final=True),
        State("withdrawn", final=True),
    ),
    transitions=(
        transition("accept", "submitted", "accepted", STAFF),
        transition("not_accept", "submitted", "not_accepted", STAFF, reason=True),
        transition("assign", "accepted", "assigned", STAFF, effects=["assign_handler"]),
        transition("respond", "assigned", "responded", (*STAFF, DEPARTMENT), guards=["is_handler"], reason=True),
        transition("reopen", "responded", "assigned", APPLICANT,
                   guards=["is_applicant", "not_reopened_before", "reopen_window_open"], reason=True),
        transition("close", "responded", "closed", (APPLICANT, SYSTEM)),
        transition("withdraw", ("submitted", "accepted", "assigned"), "withdrawn", APPLICANT, guards=["is_applicant"]),
        *handling(("submitted", "accepted", "assigned"), STAFF),
    ),
)
