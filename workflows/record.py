"""The lifecycle of a credit record (DESIGN section 6)."""
from workflows.definition import NO_SLA, SYSTEM, State, Workflow, transition

IN_PUBLICITY = ("published", "corrected")

RECORD = Workflow(
    name="record",
    initial="published",
    states=(
        State("published", clocks=NO_SLA),
        State("corrected", clocks=NO_SLA),
        State("repaired", clocks=NO_SLA, done=True),
        State("revoked", clocks=NO_SLA, done=True),
        State("retired", clocks=NO_SLA, done=True),
        State("purged", final=True),
    ),
    transitions=(
        # The "under objection" mark is a flag, not a state; marking and clearing are events.
        transition("mark_objection", "published", "published", SYSTEM),
        transition("mark_objection", "corrected", "corrected", SYSTEM),
        # The mark is cleared whatever became of the record meanwhile (it may have retired).
        *(transition("clear_objection", s, s, SYSTEM) for s in ("published", "corrected", "repaired", "revoked", "retired")),
        # Dates recomputed under a later policy version, when an admin asks for it.
        *(transition("recompute", s, s, SYSTEM, bookkeeping=True) for s in IN_PUBLICITY),
        transition("correct", IN_PUBLICITY, "corrected", SYSTEM),
        transition("revoke", IN_PUBLICITY, "revoked", SYSTEM),
        transition("repair", IN_PUBLICITY, "repaired", SYSTEM),
        transition("republish", "repaired", "published", SYSTEM),
        transition("expire", IN_PUBLICITY, "retired", SYSTEM),
        transition("purge", ("retired", "repaired", "revoked"), "purged", SYSTEM),
    ),
)
