"""SLA: timers kept in step with case states, the sweep that marks and escalates, compliance.

``sweep_sla`` is the use case (it commits once, or raises and is rolled back); the rest are
queries and the deadline arithmetic. The timer functions (``timers.sync_timers``, ...) are
steps inside a case transition, imported from their module.
"""
from app.services.sla.compliance import (
    Compliance,
    MonthlyCompliance,
    compliance_by_month,
    local_month,
    sla_compliance,
    summarise,
)
from app.services.sla.sweep import SweepResult, next_working_time, sweep_sla
from app.services.sla.timers import deadline

__all__ = ["Compliance", "MonthlyCompliance", "SweepResult", "compliance_by_month", "deadline", "local_month",
           "next_working_time", "sla_compliance", "summarise", "sweep_sla"]
