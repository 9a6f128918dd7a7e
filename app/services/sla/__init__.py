"""SLA: timers kept in step with case states, the sweep that marks and escalates, compliance.

``sweep_sla`` owns its transaction; the timer functions are steps inside a case transition.
"""
from app.services.sla.compliance import Compliance, sla_compliance, summarise
from app.services.sla.sweep import SweepResult, next_working_time, sweep_sla
from app.services.sla.timers import deadline

__all__ = ["Compliance", "SweepResult", "deadline", "next_working_time", "sla_compliance", "summarise", "sweep_sla"]
