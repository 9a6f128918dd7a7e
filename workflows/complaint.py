"""Complaint (投诉): about a record, a department or the handling of a case (DESIGN sections 5, 9)."""
from workflows.definition import (
    APPLICANT,
    DEPARTMENT,
    HANDLER,
    N_,
    STAFF,
    SYSTEM,
    Clock,
    State,
    Workflow,
    handling,
    transition,
)

COMPLAINT = Workflow(
    name="complaint",
    label=N_("Complaint"),
    initial="submitted",
    clocks=(
        Clock("accept", N_("Acceptance"), description="accept or not"),
        Clock("reply", N_("Final reply"), description="final written reply, from acceptance"),
        Clock("reopen_window", N_("Reopen window"), on_breach="close", binds=APPLICANT,
              description="the applicant may reopen once"),
    ),
    # A department sees a complaint about it (or handed to it) once the platform accepted it.
    states=(
        State("submitted", N_("Submitted"), clocks=("accept",)),
        State("accepted", N_("Accepted"), clocks=("reply",), department_visible=True),
        State("assigned", N_("Assigned"), clocks=("reply",), waits_for=HANDLER, department_visible=True),
        State("responded", N_("Responded"), clocks=("reopen_window",), done=True, department_visible=True),
        State("closed", N_("Closed"), final=True, department_visible=True),
        State("not_accepted", N_("Not accepted"), final=True),
        State("withdrawn", N_("Withdrawn"), final=True, department_visible=True),
    ),
    transitions=(
        transition("accept", "submitted", "accepted", STAFF, label=N_("Accept"), bulk=True),
        transition("not_accept", "submitted", "not_accepted", STAFF, reason=True, label=N_("Not accept")),
        transition("assign", "accepted", "assigned", STAFF, effects=["assign_handler"], label=N_("Assign"),
                   assigns=True),
        transition("respond", "assigned", "responded", (*STAFF, DEPARTMENT), guards=["is_handler"], reason=True,
                   label=N_("Respond"), answers=True),
        transition("reopen", "responded", "assigned", APPLICANT, label=N_("Reopen"),
                   guards=["is_applicant", "not_reopened_before", "reopen_window_open"], reason=True),
        transition("close", "responded", "closed", (APPLICANT, SYSTEM), label=N_("Close")),
        transition("withdraw", ("submitted", "accepted", "assigned"), "withdrawn", APPLICANT, guards=["is_applicant"],
                   label=N_("Withdraw")),
        *handling(("submitted", "accepted", "assigned"), STAFF),
    ),
)
