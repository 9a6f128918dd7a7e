"""The state machines of the three case workflows, the subject binding and the record lifecycle.

Pure Python: no Flask, no database. Each is defined once as data (states, clocks, triggers,
guards and effects by name, and the facts the app reads: who a clock binds, whom a state
waits for, what a department may see, labels) and run by the ``transitions`` library.
"""
from workflows.binding import BINDING, GRANTS_ACCESS, BindingState, BindingTrigger
from workflows.complaint import COMPLAINT
from workflows.definition import (
    APPLICANT,
    CLAIM,
    DEPARTMENT,
    HANDLER,
    PLATFORM,
    REASSIGN,
    RECOMPUTE,
    SYSTEM,
    Clock,
    Finding,
    Letter,
    LetterKind,
    State,
    Transition,
    TransitionRefused,
    Workflow,
)
from workflows.objection import OBJECTION
from workflows.record import CASES_END_REASONS, IN_PUBLICITY, RECORD, RecordState, RecordTrigger
from workflows.repair import REPAIR

CASE_WORKFLOWS = {w.name: w for w in (OBJECTION, REPAIR, COMPLAINT)}
# A binding is no credit case (its own table and service): it is drawn and tested with the others.
ALL_WORKFLOWS = (*CASE_WORKFLOWS.values(), RECORD, BINDING)


def case_transitions(trigger: str) -> list[Transition]:
    """Every row of ``trigger`` in the case workflows (for facts that do not depend on the state)."""
    return [t for w in CASE_WORKFLOWS.values() for t in w.transitions if t.trigger == trigger]


__all__ = [
    "ALL_WORKFLOWS",
    "APPLICANT",
    "BINDING",
    "BindingState",
    "BindingTrigger",
    "CASES_END_REASONS",
    "CASE_WORKFLOWS",
    "CLAIM",
    "COMPLAINT",
    "DEPARTMENT",
    "GRANTS_ACCESS",
    "HANDLER",
    "IN_PUBLICITY",
    "OBJECTION",
    "PLATFORM",
    "REASSIGN",
    "RECOMPUTE",
    "RECORD",
    "REPAIR",
    "SYSTEM",
    "Clock",
    "Finding",
    "Letter",
    "LetterKind",
    "RecordState",
    "RecordTrigger",
    "State",
    "Transition",
    "TransitionRefused",
    "Workflow",
    "case_transitions",
]
