"""The lifecycle of a credit record (DESIGN section 6).

Unlike a case, a record is changed by named services (correct it, revoke it, retire it...), so
its states and triggers have names in code: these enums, which the table itself is written
with. The database keeps a record's state inside ``RecordState`` (a CHECK constraint).
"""
from enum import StrEnum

from workflows.definition import N_, NO_SLA, RECOMPUTE, RECOMPUTE_LABEL, SYSTEM, State, Workflow, transition


class RecordState(StrEnum):
    PUBLISHED = "published"
    CORRECTED = "corrected"
    REPAIRED = "repaired"
    REVOKED = "revoked"
    RETIRED = "retired"
    PURGED = "purged"


class RecordTrigger(StrEnum):
    MARK_OBJECTION = "mark_objection"
    CLEAR_OBJECTION = "clear_objection"
    RECOMPUTE = RECOMPUTE
    CORRECT = "correct"
    REVOKE = "revoke"
    REPAIR = "repair"
    REPUBLISH = "republish"
    EXPIRE = "expire"
    PURGE = "purge"


S, T = RecordState, RecordTrigger

STATES = (
    State(S.PUBLISHED, N_("In publicity"), clocks=NO_SLA, public=True),
    State(S.CORRECTED, N_("In publicity (corrected)"), clocks=NO_SLA, public=True),
    State(S.REPAIRED, N_("Repaired"), clocks=NO_SLA, done=True),
    State(S.REVOKED, N_("Revoked"), clocks=NO_SLA, done=True),
    State(S.RETIRED, N_("Publicity ended"), clocks=NO_SLA, done=True),
    State(S.PURGED, N_("Purged"), final=True),
)
IN_PUBLICITY = tuple(RecordState(s.name) for s in STATES if s.public)

# Why the open cases on a record end when it leaves publicity, by the state it left for: the
# reason the applicant reads on the case and its notice (``Workflow.on_record_left_publicity``).
# A correction keeps the record in publicity, so its open cases can still be decided.
CASES_END_REASONS = {
    S.RETIRED: N_("The record's publicity period ended and it is no longer published: "
                  "there is nothing left to decide, so this case is closed."),
    S.REPAIRED: N_("The record was repaired and is no longer published: "
                   "there is nothing left to decide, so this case is closed."),
    S.REVOKED: N_("The record was revoked and is no longer published: "
                  "there is nothing left to decide, so this case is closed."),
}

RECORD = Workflow(
    name="record",
    label=N_("Record lifecycle"),
    initial=S.PUBLISHED,
    states=STATES,
    transitions=(
        # The "under objection" mark is a flag, not a state; marking and clearing are events.
        *(transition(T.MARK_OBJECTION, s, s, SYSTEM, label=N_("Mark under objection")) for s in IN_PUBLICITY),
        # The mark is cleared whatever became of the record meanwhile (it may have retired).
        *(transition(T.CLEAR_OBJECTION, s, s, SYSTEM, label=N_("Clear objection mark"))
          for s in (S.PUBLISHED, S.CORRECTED, S.REPAIRED, S.REVOKED, S.RETIRED)),
        # Dates recomputed under a later policy version, when an admin asks for it.
        *(transition(T.RECOMPUTE, s, s, SYSTEM, bookkeeping=True, label=RECOMPUTE_LABEL) for s in IN_PUBLICITY),
        transition(T.CORRECT, IN_PUBLICITY, S.CORRECTED, SYSTEM, label=N_("Correct")),
        transition(T.REVOKE, IN_PUBLICITY, S.REVOKED, SYSTEM, label=N_("Revoke")),
        transition(T.REPAIR, IN_PUBLICITY, S.REPAIRED, SYSTEM, label=N_("Repair")),
        transition(T.REPUBLISH, S.REPAIRED, S.PUBLISHED, SYSTEM, label=N_("Publish again")),
        transition(T.EXPIRE, IN_PUBLICITY, S.RETIRED, SYSTEM, label=N_("Retire at publicity end")),
        transition(T.PURGE, (S.RETIRED, S.REPAIRED, S.REVOKED), S.PURGED, SYSTEM, label=N_("Purge personal data")),
    ),
)
