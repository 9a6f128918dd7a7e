"""Credit repair (信用修复): ending publicity early after correction (DESIGN sections 5 and 9)."""
from workflows.definition import NO_SLA, SYSTEM, Clock, State, Workflow, handling, transition

APPLICANT, OFFICER, DEPARTMENT = "applicant", "officer", "department"
STAFF = (OFFICER, "supervisor")
OPEN = ("submitted", "awaiting_supplement", "under_review", "awaiting_department")

REPAIR = Workflow(
    name="repair",
    initial="submitted",
    clocks=(
        Clock("accept", description="accept, not accept or ask for a supplement"),
        Clock("department_opinion", description="the department's opinion"),
        Clock("overall", description="end to end, one documented extension"),
        Clock("supplement", on_breach="lapse", description="the applicant's time to supply material"),
    ),
    states=(
        State("submitted", clocks=("accept", "overall")),
        State("awaiting_supplement", clocks=("supplement",), pauses=True),
        State("under_review", clocks=("overall",)),
        State("awaiting_department", clocks=("department_opinion", "overall")),
        # Approved repairs rest here: a repair found to rest on false material is revoked later.
        State("approved", clocks=NO_SLA, done=True),
        State("denied", final=True),
        State("not_accepted", final=True),
        State("withdrawn", final=True),
        State("lapsed", final=True),
        State("revoked", final=True),
        State("closed", final=True),
    ),
    transitions=(
        transition("accept", "submitted", "under_review", STAFF, guards=["repair_eligible"]),
        transition("not_accept", "submitted", "not_accepted", STAFF, reason=True),
        transition("request_supplement", "submitted", "awaiting_supplement", STAFF, reason=True),
        transition("supplement", "awaiting_supplement", "submitted", APPLICANT,
                   guards=["is_applicant", "supplement_window_open"]),
        transition("lapse", "awaiting_supplement", "lapsed", SYSTEM),
        transition("ask_department", "under_review", "awaiting_department", STAFF, effects=["assign_department"]),
        transition("give_opinion", "awaiting_department", "under_review", DEPARTMENT,
                   guards=["is_case_department"], reason=True),
        transition("extend", "under_review", "under_review", STAFF,
                   guards=["not_extended_before"], effects=["extend_overall"], reason=True),
        transition("approve", "under_review", "approved", STAFF,
                   guards=["repair_eligible", "department_opinion_if_required"],
                   effects=["repair_record"], reason=True),
        transition("deny", "under_review", "denied", STAFF, reason=True),
        transition("revoke_for_fraud", "approved", "revoked", STAFF, effects=["republish_record"], reason=True),
        transition("withdraw", OPEN, "withdrawn", APPLICANT, guards=["is_applicant"]),
        transition("close_on_retirement", OPEN, "closed", SYSTEM, reason=True),
        *handling(OPEN, STAFF),
    ),
)
