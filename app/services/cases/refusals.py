"""Why a case action may be refused, in words for the user: guard names map to their reasons."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Why a transition may be refused, in words for the user. Guard names map to their reasons.
REFUSALS = {
    "not_allowed_in_state": _l("This action is not possible in the case's current state."),
    "not_allowed_for_role": _l("Your role may not take this action."),
    "record_not_in_publicity": _l("The record is no longer in publicity."),
    "not_case_department": _l("Only the department the case was referred to may answer."),
    "not_applicant": _l("Only the applicant may do this."),
    "not_handler": _l("Only the officer or department handling the complaint may respond."),
    "handled_case_complained_of": _l("You handled the case this complaint is about: another officer must handle it."),
    "already_reopened": _l("A complaint may be reopened only once."),
    "reopen_window_passed": _l("The time to reopen this complaint has passed."),
    "already_extended": _l("The deadline of this case has already been extended once."),
    "already_assigned": _l("Someone already handles this case."),
    "supplement_window_passed": _l("The time to supply material has passed."),
    "department_opinion_missing": _l("Records of this category need the department's opinion before a repair is approved."),
    "reason_required": _l("Please give a reason."),
    "corrections_missing": _l("A record that needs correcting needs its corrected content: change at least one of "
                              "the facts, the sanction, its kinds, the class or the decision date."),
    "nothing_to_correct": _l("Deciding \"correct\" must change the record, and these corrections change nothing. "
                             "Give the corrected content, or decide otherwise."),
    "stale": _l("Someone else changed this case in the meantime. Reload the page, check the changes and try again."),
    # repair eligibility
    "shortest_publicity_not_over": _l("The shortest publicity period of the record has not ended yet."),
    "class_not_repairable": _l("Records of this class cannot be repaired."),
    "sanction_not_repairable": _l("The sanction of this record (licence revoked, business or employment restricted) is never repairable early."),
    "measure_still_running": _l("A measure the decision imposes (e.g. a business restriction) is still running; "
                                "repair is possible once it has ended."),
    "obligation_proof_missing": _l("The proof that the obligation was fulfilled is missing."),
    "commitment_missing": _l("The signed credit commitment is missing."),
    "barred_after_fraud": _l("A repair of this record was revoked for false material; a new application is barred for now."),
    "repair_already_open": _l("A repair application for this record is already being handled."),
}


def reason_text(code: str) -> str:
    return str(REFUSALS.get(code, code))
