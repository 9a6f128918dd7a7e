"""Objection (异议): a subject says a record is wrong (DESIGN section 5, SLA in section 9)."""
from workflows.definition import NO_SLA, SYSTEM, Clock, State, Workflow, handling, transition

APPLICANT, OFFICER, DEPARTMENT = "applicant", "officer", "department"
STAFF = (OFFICER, "supervisor")
OPEN = ("submitted", "awaiting_supplement", "accepted", "referred", "replied")

OBJECTION = Workflow(
    name="objection",
    initial="submitted",
    clocks=(
        Clock("accept", description="accept, not accept or ask for a supplement"),
        Clock("refer", description="refer to the originating department"),
        Clock("verify", description="department verification, target"),
        Clock("verify_limit", description="department verification, hard limit"),
        Clock("overall", description="decision and written reply, from receipt"),
        Clock("supplement", on_breach="lapse", description="the applicant's time to supply material"),
    ),
    states=(
        State("submitted", clocks=("accept", "overall")),
        State("awaiting_supplement", clocks=("supplement",), pauses=True),
        State("accepted", clocks=("refer", "overall")),
        State("referred", clocks=("verify", "verify_limit", "overall")),
        State("replied", clocks=("overall",)),
        State("decided", clocks=NO_SLA, done=True),
        State("closed", final=True),
        State("not_accepted", final=True),
        State("withdrawn", final=True),
        State("lapsed", final=True),
    ),
    transitions=(
        transition("accept", "submitted", "accepted", STAFF,
                   guards=["record_in_publicity"], effects=["mark_under_objection"]),
        transition("not_accept", "submitted", "not_accepted", STAFF, reason=True),
        transition("request_supplement", "submitted", "awaiting_supplement", STAFF, reason=True),
        transition("supplement", "awaiting_supplement", "submitted", APPLICANT,
                   guards=["is_applicant", "supplement_window_open"]),
        transition("lapse", "awaiting_supplement", "lapsed", SYSTEM),
        transition("refer", "accepted", "referred", STAFF, effects=["assign_department"]),
        transition("reply", "referred", "replied", DEPARTMENT, guards=["is_case_department"], reason=True),
        transition("decide_correct", "replied", "decided", STAFF, reason=True,
                   effects=["clear_objection_mark", "correct_record"]),
        transition("decide_revoke", "replied", "decided", STAFF, reason=True,
                   effects=["clear_objection_mark", "revoke_record"]),
        transition("decide_maintain", "replied", "decided", STAFF, reason=True,
                   effects=["clear_objection_mark"]),
        # Unresolved: the department's verification and the objection are both recorded, and
        # the record keeps its "under objection" mark in public.
        transition("decide_unresolved", "replied", "decided", STAFF, reason=True),
        transition("close", "decided", "closed", (*STAFF, SYSTEM)),
        transition("withdraw", ("submitted", "awaiting_supplement", "accepted", "referred", "replied"),
                   "withdrawn", APPLICANT, guards=["is_applicant"], effects=["clear_objection_mark"]),
        transition("close_on_retirement", OPEN, "closed", SYSTEM, reason=True,
                   effects=["clear_objection_mark"]),
        *handling(("submitted", "awaiting_supplement", "accepted", "referred", "replied", "decided"), STAFF),
    ),
)
