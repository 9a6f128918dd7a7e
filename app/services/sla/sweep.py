"""The SLA sweep: level-triggered, so it catches up on everything due after downtime."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from app import clock
from app.extensions import db
from app.services.calendar import get_working_calendar
from app.services.policy import get_policy_in_force
from app.services.sla.marks import BREACHED, DUE_SOON, run_phase
from app.services.transaction import use_case


@dataclass
class SweepResult:
    due_soon: int = 0
    breached: int = 0
    escalations: int = 0
    auto_transitions: int = 0  # filled in by the sla job (cases.fire_breach_triggers)


def next_working_time(now: datetime, hours: dict) -> datetime:
    """``now`` if it falls in working hours on a working day, else the start of the next ones."""
    calendar = get_working_calendar()
    start = time.fromisoformat(hours.get("start", "09:00"))
    end = time.fromisoformat(hours.get("end", "17:30"))
    local_now = clock.local(now)
    day = local_now.date()
    if calendar.is_working_day(day):
        if start <= local_now.time() < end:
            return now
        if local_now.time() < start:
            return datetime.combine(day, start, tzinfo=clock.PLATFORM_TZ).astimezone(UTC)
    next_day = calendar.add_working_days(day, 1)
    return datetime.combine(next_day, start, tzinfo=clock.PLATFORM_TZ).astimezone(UTC)


@use_case
def sweep_sla() -> SweepResult:
    """Mark timers due soon and breached, send reminders and escalations.

    The automatic transitions of clocks that fire one (a lapse, a close) are not made here:
    ``cases.fire_breach_triggers`` makes them, the ``sla`` job runs both.

    Set-based (``marks``): a statement per phase on PostgreSQL, whatever the number of timers.
    Each notice has a key made of the timer and its deadline, so a second sweep (or a second
    host) writes nothing new, and a changed deadline gets reminders of its own. Notices are
    held until working hours (``not_before``), where the dispatcher picks them up.
    """
    now = clock.now()
    reminders = get_policy_in_force().body.get("reminders", {})
    lead = int(reminders.get("due_soon_before", {}).get("wd", 1))
    deliver_at = next_working_time(now, reminders.get("working_hours", {}))
    horizon = clock.end_of_day(get_working_calendar().add_working_days(clock.today(), lead))
    db.session.flush()  # the statements below read the tables, not the session
    result = SweepResult()
    result.due_soon, _ = run_phase(DUE_SOON, now, horizon, deliver_at)
    result.breached, result.escalations = run_phase(BREACHED, now, horizon, deliver_at)
    db.session.expire_all()  # the statements changed timers behind the session's back
    db.session.commit()
    return result
