"""The SLA sweep: level-triggered, so it catches up on everything due after downtime."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Case, Timer, User
from app.models.enums import Role, TimerStatus
from app.services.calendar import get_working_calendar
from app.services.notices.outbox import enqueue
from app.services.policy import get_policy_in_force
from app.services.transaction import use_case
from workflows import APPLICANT, CASE_WORKFLOWS, DEPARTMENT


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

    Each notice has a key made of the timer and its deadline, so a second sweep (or a second
    host) writes nothing new, and a changed deadline gets reminders of its own. Notices are
    held until working hours (``not_before``), where the dispatcher picks them up.
    """
    result = SweepResult()
    now = clock.now()
    today = clock.today()
    body = get_policy_in_force().body
    reminders = body.get("reminders", {})
    lead = int(reminders.get("due_soon_before", {}).get("wd", 1))
    deliver_at = next_working_time(now, reminders.get("working_hours", {}))
    horizon = clock.end_of_day(get_working_calendar().add_working_days(today, lead))
    supervisors = list(
        db.session.scalars(select(User.id).where(User.role == Role.SUPERVISOR, User.is_active.is_(True)))
    )

    due_soon = db.session.scalars(
        select(Timer)
        .where(
            Timer.status == TimerStatus.RUNNING,
            Timer.due_soon_at.is_(None),
            Timer.due_at <= horizon,
            Timer.due_at >= now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for timer in due_soon:
        case = timer.case
        timer.due_soon_at = now
        result.due_soon += 1
        rule = CASE_WORKFLOWS[case.kind].clock(timer.clock)
        if rule.on_breach and rule.binds != APPLICANT:
            continue  # an automatic step of the platform's needs no reminder to anyone
        payload = {"case": case.number, "clock": timer.clock, "due_at": timer.due_at.isoformat()}
        key = f"due-soon:{timer.id}:{timer.due_at.isoformat()}"
        for user_id, department_id in _responsible(case, timer, supervisors):
            enqueue(
                f"{key}:{user_id or 'd' + str(department_id)}", "sla_due_soon", payload,
                user_id=user_id, department_id=department_id, not_before=deliver_at,
            )

    breached = db.session.scalars(
        select(Timer)
        .where(Timer.status == TimerStatus.RUNNING, Timer.breached_at.is_(None), Timer.due_at < now)
        .with_for_update(skip_locked=True)
    ).all()
    for timer in breached:
        case = timer.case
        timer.breached_at = now
        result.breached += 1
        if CASE_WORKFLOWS[case.kind].clock(timer.clock).on_breach:
            continue  # fired by cases.fire_breach_triggers, which does not rely on this mark
        payload = {"case": case.number, "clock": timer.clock, "due_at": timer.due_at.isoformat()}
        for supervisor_id in supervisors:
            written = enqueue(
                f"breach:{timer.id}:{timer.due_at.isoformat()}:{supervisor_id}", "sla_breached", payload,
                user_id=supervisor_id, not_before=deliver_at,
            )
            result.escalations += int(written)
    db.session.commit()

    return result


def _responsible(case: Case, timer: Timer, supervisors: list[int]) -> list[tuple[int | None, int | None]]:
    """Who is reminded of a deadline (whom its clock binds): (user id, department id) pairs."""
    binds = CASE_WORKFLOWS[case.kind].clock(timer.clock).binds
    if binds == DEPARTMENT and case.department_id:
        return [(None, case.department_id)]
    if binds == APPLICANT:
        return [(case.applicant_id, None)]
    if case.assignee_id:
        return [(case.assignee_id, None)]
    return [(s, None) for s in supervisors]
