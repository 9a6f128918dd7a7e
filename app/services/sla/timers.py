"""SLA timers: started, paused, resumed and stopped as cases change state.

Each workflow state says which clocks run in it (``workflows``); this module keeps the
``timer`` rows in step. Deadlines fall at the end of their day in the platform's zone.
Lengths come from the policy version the case was computed under.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Case, Timer
from app.models.enums import TimerStatus, TimerUnit
from app.services.calendar import add_period, get_working_calendar
from app.services.policy import clock_rule, get_policy
from workflows import CASE_WORKFLOWS


def deadline(unit: str, start_day: date, length: int) -> datetime:
    """End of the day on which ``length`` units after ``start_day`` run out."""
    if unit == TimerUnit.WORKING_DAYS:
        due_day = get_working_calendar().add_working_days(start_day, length)
    else:
        due_day = add_period(start_day, length, "d")
    return clock.end_of_day(due_day)


def shift_deadline(unit: str, due_at: datetime, delta: int) -> datetime:
    """A deadline moved by ``delta`` units (negative: earlier), as a new policy version asks."""
    due_day = clock.local(due_at).date()
    if delta >= 0:
        return deadline(unit, due_day, delta)
    if unit == TimerUnit.WORKING_DAYS:
        return clock.end_of_day(get_working_calendar().subtract_working_days(due_day, -delta))
    return clock.end_of_day(due_day + timedelta(days=delta))


def units_left(unit: str, today: date, due_at: datetime) -> int:
    """Whole units between today and the deadline's day (0 when already due)."""
    due_day = clock.local(due_at).date()
    if unit == TimerUnit.WORKING_DAYS:
        return get_working_calendar().working_days_between(today, due_day)
    return max(0, (due_day - today).days)


def open_timers(case: Case) -> list[Timer]:
    return list(
        db.session.scalars(
            select(Timer).where(
                Timer.case_id == case.id, Timer.status.in_([TimerStatus.RUNNING, TimerStatus.PAUSED])
            )
        )
    )


def sync_timers(case: Case, to_state: str) -> None:
    """Make the case's timers match the clocks of the state it is entering."""
    workflow = CASE_WORKFLOWS[case.kind]
    state = workflow.state(to_state)
    now = clock.now()
    today = clock.today()
    wanted = set(state.clocks)
    timers = {t.clock: t for t in open_timers(case)}
    for name, timer in timers.items():
        if name in wanted:
            continue
        if state.pauses and timer.status == TimerStatus.RUNNING:
            _pause(timer, now, today)
        elif not state.pauses:
            _stop(timer, now)
    body = get_policy(case.policy_version).body
    for name in state.clocks:
        timer = timers.get(name)
        rule = clock_rule(body, case.kind, name)
        if timer is None:
            db.session.add(
                Timer(
                    case_id=case.id, clock=name, unit=rule.unit, length=rule.length,
                    policy_version=case.policy_version, status=TimerStatus.RUNNING,
                    started_at=now, due_at=deadline(rule.unit, today, rule.length),
                )
            )
        elif timer.status == TimerStatus.PAUSED:
            remaining = timer.length if rule.restart_on_resume else timer.remaining
            due_at = deadline(timer.unit, today, remaining)  # may query: before any change
            timer.status = TimerStatus.RUNNING
            timer.due_at = due_at
            timer.paused_at = timer.remaining = None
            timer.due_soon_at = timer.breached_at = None  # a new deadline gets its own reminders
    db.session.flush()
    refresh_case_deadline(case)


def extend_timer(case: Case, clock_name: str) -> Timer:
    """Grant the policy's documented extension to a running clock."""
    timer = next(t for t in open_timers(case) if t.clock == clock_name and t.status == TimerStatus.RUNNING)
    rule = clock_rule(get_policy(timer.policy_version).body, case.kind, clock_name)
    due_day = clock.local(timer.due_at).date()
    timer.due_at = deadline(timer.unit, due_day, rule.extension)
    timer.length += rule.extension
    timer.extended += 1
    timer.due_soon_at = timer.breached_at = None
    db.session.flush()
    refresh_case_deadline(case)
    return timer


def refresh_case_deadline(case: Case) -> None:
    """Copy the earliest running deadline onto the case, where the queues sort by it."""
    running = [t.due_at for t in open_timers(case) if t.status == TimerStatus.RUNNING]
    case.due_at = min(running) if running else None


def _pause(timer: Timer, now: datetime, today: date) -> None:
    timer.remaining = units_left(timer.unit, today, timer.due_at)
    timer.status = TimerStatus.PAUSED
    timer.paused_at = now
    timer.due_at = None


def _stop(timer: Timer, now: datetime) -> None:
    timer.status = TimerStatus.STOPPED
    timer.stopped_at = now
