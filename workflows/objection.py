"""Objection (异议): a subject says a record is wrong (DESIGN section 5, SLA in section 9)."""
from workflows.definition import (
    ACCEPTED,
    APPLICANT,
    DEPARTMENT,
    N_,
    NO_SLA,
    NOT_ACCEPTED,
    STAFF,
    SUPPLEMENT_ASKED,
    SYSTEM,
    Clock,
    Finding,
    Letter,
    LetterKind,
    State,
    Workflow,
    handling,
    transition,
)

OPEN = ("submitted", "awaiting_supplement", "accepted", "referred", "replied")

# Offered for the reason of a refusal, in every workflow's ``not_accept`` (the app looks them
# up by trigger).
NOT_ACCEPT_TEMPLATES = (
    N_("The application is outside the scope of objections: it does not concern the accuracy of a published record."),
    N_("The same matter has already been decided; no new facts or evidence were given."),
    N_("The material is incomplete and was not supplemented in time."),
)
SUPPLEMENT_TEMPLATES = (
    N_("Please supply a copy of the decision document and the evidence you refer to."),
    N_("Please supply the proof that the fine was paid (receipt or bank transfer record)."),
)

# What a department may find when it verifies a record under objection.
FINDINGS = (
    Finding("correct", N_("The record is correct")),
    Finding("corrected", N_("The record needs correcting"), corrects=True),
    Finding("revoke", N_("The record must be revoked")),
)

OBJECTION = Workflow(
    name="objection",
    label=N_("Objection"),
    initial="submitted",
    on_record_left_publicity="close_on_retirement",
    clocks=(
        Clock("accept", N_("Acceptance"), description="accept, not accept or ask for a supplement"),
        Clock("refer", N_("Referral"), description="refer to the originating department"),
        Clock("verify", N_("Department verification (target)"), binds=DEPARTMENT,
              description="department verification, target"),
        Clock("verify_limit", N_("Department verification (hard limit)"), binds=DEPARTMENT,
              description="department verification, hard limit"),
        Clock("overall", N_("Overall"), description="decision and written reply, from receipt"),
        Clock("supplement", N_("Supplement by the applicant"), on_breach="lapse", binds=APPLICANT,
              description="the applicant's time to supply material"),
    ),
    # A department sees an objection once it is referred to it (``refers``) and from then on:
    # never one the platform has not (yet) referred, though the record is its own.
    states=(
        # The record is marked "under objection" on receipt (the rule: within 1 working day), so an
        # objection holds the mark from submission on, until it is not accepted, withdrawn, lapses
        # or is decided (but unresolved).
        State("submitted", N_("Submitted"), clocks=("accept", "overall"), carries_objection_mark=True),
        State("awaiting_supplement", N_("Awaiting supplement"), clocks=("supplement",), pauses=True,
              waits_for=APPLICANT, carries_objection_mark=True),
        State("accepted", N_("Accepted"), clocks=("refer", "overall"), carries_objection_mark=True),
        State("referred", N_("Referred to department"), clocks=("verify", "verify_limit", "overall"),
              waits_for=DEPARTMENT, carries_objection_mark=True),
        State("replied", N_("Department replied"), clocks=("overall",), carries_objection_mark=True),
        State("decided", N_("Decided"), clocks=NO_SLA, done=True),
        State("closed", N_("Closed"), final=True),
        State("not_accepted", N_("Not accepted"), final=True),
        State("withdrawn", N_("Withdrawn"), final=True),
        State("lapsed", N_("Lapsed"), final=True),
    ),
    transitions=(
        # The mark was set on submission; acceptance sets it again only if it is missing (an
        # objection filed before marking at receipt, or a mark cleared meanwhile): idempotent.
        transition("accept", "submitted", "accepted", STAFF, counted_as="accepted", notice=N_("Your objection {case} was accepted. The decision is due by {due_at}."), label=N_("Accept"), bulk=True,
                   guards=["record_in_publicity"], effects=["mark_under_objection"], letter=ACCEPTED),
        transition("not_accept", "submitted", "not_accepted", STAFF, reason=True, counted_as="not_accepted", notice=N_("Your objection {case} was not accepted. The notice states the grounds."), label=N_("Not accept"),
                   templates=NOT_ACCEPT_TEMPLATES, effects=["clear_objection_mark"], letter=NOT_ACCEPTED),
        transition("request_supplement", "submitted", "awaiting_supplement", STAFF, reason=True,
                   notice=N_("Your objection {case} needs more material: supply it by {due_at}, or the application lapses."), label=N_("Ask for supplement"), templates=SUPPLEMENT_TEMPLATES, letter=SUPPLEMENT_ASKED),
        transition("supplement", "awaiting_supplement", "submitted", APPLICANT, label=N_("Supply material"),
                   answers=True, guards=["is_applicant", "supplement_window_open"]),
        transition("lapse", "awaiting_supplement", "lapsed", SYSTEM, notice=N_("Your objection {case} lapsed: the material asked for was not supplied in time."), label=N_("Lapse"),
                   effects=["clear_objection_mark"]),
        transition("refer", "accepted", "referred", STAFF, notice=N_("Your objection {case} was referred to the department that provided the record; it must reply by {due_at}."), label=N_("Refer to department"),
                   effects=["assign_department"], refers=True),
        transition("reply", "referred", "replied", DEPARTMENT, guards=["is_case_department"], reason=True,
                   notice=N_("The department has replied on your objection {case}; the decision follows."), label=N_("Reply to referral"), answers=True, findings=FINDINGS, corrects=True,
                   effects=["take_corrections"]),
        transition("decide_correct", "replied", "decided", STAFF, reason=True, notice=N_("Your objection {case} was upheld: the record is corrected."), label=N_("Decide: correct"),
                   outcome="correct", corrects=True, effects=["clear_objection_mark", "correct_record"],
                   letter=Letter(LetterKind.OBJECTION_DECISION, N_("Objection upheld: the record is corrected")),
                   templates=(N_("The department confirmed an error in the published record; "
                                 "it has been corrected as shown."),)),
        transition("decide_revoke", "replied", "decided", STAFF, reason=True, notice=N_("Your objection {case} was upheld: the record is revoked and leaves publicity."), label=N_("Decide: revoke"),
                   outcome="revoke", effects=["clear_objection_mark", "revoke_record"],
                   letter=Letter(LetterKind.OBJECTION_DECISION, N_("Objection upheld: the record is revoked")),
                   templates=(N_("The underlying decision was revoked; the record is withdrawn from publicity."),)),
        transition("decide_maintain", "replied", "decided", STAFF, reason=True, notice=N_("Your objection {case} was not upheld: the record is maintained."), label=N_("Decide: maintain"),
                   outcome="maintain", effects=["clear_objection_mark"],
                   letter=Letter(LetterKind.OBJECTION_DECISION,
                                 N_("Objection not upheld: the record is maintained")),
                   templates=(N_("The department verified the record as accurate; "
                                 "it is maintained and the objection mark removed."),)),
        # Unresolved: the department's verification and the objection are both recorded, and
        # the record keeps its "under objection" mark in public.
        transition("decide_unresolved", "replied", "decided", STAFF, reason=True, notice=N_("On your objection {case} the facts could not be established: your objection is recorded with the record."), label=N_("Decide: unresolved"),
                   outcome="unresolved",
                   letter=Letter(LetterKind.OBJECTION_DECISION,
                                 N_("The facts could not be established: the objection is recorded with the record")),
                   templates=(N_("The facts could not be established; "
                                 "the department's verification and the objection are both recorded."),)),
        transition("close", "decided", "closed", (*STAFF, SYSTEM), notice=N_("Your objection {case} is closed."), label=N_("Close")),
        transition("withdraw", ("submitted", "awaiting_supplement", "accepted", "referred", "replied"),
                   "withdrawn", APPLICANT, guards=["is_applicant"], effects=["clear_objection_mark"],
                   label=N_("Withdraw")),
        transition("close_on_retirement", OPEN, "closed", SYSTEM, reason=True,
                   effects=["clear_objection_mark"], notice=N_("Your objection {case} is closed: the record has left publicity."), label=N_("Close: the record left publicity")),
        *handling(("submitted", "awaiting_supplement", "accepted", "referred", "replied", "decided"), STAFF),
    ),
)
