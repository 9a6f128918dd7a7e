"""The state machines of the three workflows and the record lifecycle.

Pure Python: no Flask, no database. Each is defined once as data (states, clocks, triggers,
guards and effects by name) and run by the ``transitions`` library.
"""
from workflows.complaint import COMPLAINT
from workflows.definition import SYSTEM, Clock, State, Transition, TransitionRefused, Workflow
from workflows.objection import OBJECTION
from workflows.record import RECORD
from workflows.repair import REPAIR

CASE_WORKFLOWS = {w.name: w for w in (OBJECTION, REPAIR, COMPLAINT)}

__all__ = [
    "CASE_WORKFLOWS",
    "COMPLAINT",
    "OBJECTION",
    "RECORD",
    "REPAIR",
    "SYSTEM",
    "Clock",
    "State",
    "Transition",
    "TransitionRefused",
    "Workflow",
]
