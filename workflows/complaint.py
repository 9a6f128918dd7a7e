"""Complaint (投诉): about a record, a department or the handling of a case (DESIGN sections 5, 9)."""
from workflows.definition import (
    ACCEPTED,
    APPLICANT,
    DEPARTMENT,
    HANDLER,
    N_,
    NOT_ACCEPTED,
    STAFF,
    SYSTEM,
    Clock,
    Letter,
    LetterKind,
    State,
    Workflow,
    handling,
    transition,
)

# The grounds for not accepting a complaint (DESIGN section 9; SAMR complaint measures art. 15),
# offered as the reason's texts. A complaint about a record decided longer ago than the policy's
# ``complaint.not_accept_older_than`` (3 years) proposes ``OLDER_THAN_LIMIT``.
NOT_ACCEPT_GROUNDS = (
    N_("Not accepted: the complaint is outside the scope of matters the platform handles."),
    N_("Not accepted: the same matter has already been decided elsewhere (by a court, an arbitration body "
       "or another authority)."),
    N_("Not accepted: the matter complained about is older than 3 years."),
    N_("Not accepted: the material needed to handle the complaint is missing."),
)
OLDER_THAN_LIMIT = NOT_ACCEPT_GROUNDS[2]
# Whoever handled the case a complaint is about (``Case.about_case_id``) may not handle the complaint.
NOT_COMPLAINED_OF = "not_complained_of"

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
    # A department sees a complaint once it is handed to the department to answer; a complaint about
    # a department that an officer handles stays between the complainant and the platform.
    states=(
        State("submitted", N_("Submitted"), clocks=("accept",)),
        State("accepted", N_("Accepted"), clocks=("reply",)),
        State("assigned", N_("Assigned"), clocks=("reply",), waits_for=HANDLER),
        State("responded", N_("Responded"), clocks=("reopen_window",), done=True),
        State("closed", N_("Closed"), final=True),
        State("not_accepted", N_("Not accepted"), final=True),
        State("withdrawn", N_("Withdrawn"), final=True),
    ),
    transitions=(
        transition("accept", "submitted", "accepted", STAFF, counted_as="accepted", notice=N_("Your complaint {case} was accepted. The reply is due by {due_at}."), label=N_("Accept"), bulk=True, letter=ACCEPTED),
        transition("not_accept", "submitted", "not_accepted", STAFF, reason=True, counted_as="not_accepted", notice=N_("Your complaint {case} was not accepted. The notice states the grounds."), label=N_("Not accept"),
                   templates=NOT_ACCEPT_GROUNDS, letter=NOT_ACCEPTED),
        transition("assign", "accepted", "assigned", STAFF, effects=["assign_handler"], notice=N_("Your complaint {case} is now being handled. The reply is due by {due_at}."), label=N_("Assign"),
                   assigns=True, refers=True),  # refers when handed to the department, not to an officer
        transition("respond", "assigned", "responded", (*STAFF, DEPARTMENT), guards=["is_handler", NOT_COMPLAINED_OF],
                   reason=True,
                   counted_as="responded", notice=N_("Your complaint {case} has been answered. You may reopen it within the period the reply states."), label=N_("Respond"), answers=True,
                   letter=Letter(LetterKind.COMPLAINT_REPLY, N_("Reply given"))),
        transition("reopen", "responded", "assigned", APPLICANT, label=N_("Reopen"),
                   guards=["is_applicant", "not_reopened_before", "reopen_window_open"], reason=True),
        transition("close", "responded", "closed", (APPLICANT, SYSTEM), notice=N_("Your complaint {case} is closed."), label=N_("Close")),
        transition("withdraw", ("submitted", "accepted", "assigned"), "withdrawn", APPLICANT, guards=["is_applicant"],
                   label=N_("Withdraw")),
        *handling(("submitted", "accepted", "assigned"), STAFF, claim_guards=[NOT_COMPLAINED_OF]),
    ),
)
