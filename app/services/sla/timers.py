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
from app.services.policy import ClockRule, clock_rule, get_policy
from workflows import CASE_WORKFLOWS


def deadline(unit: str, start_day: date, length: int, *, to_working_day: bool = False) -> datetime:
    """End of the day on which ``length`` units after ``start_day`` run out.

    With ``to_working_day``, a calendar-day period whose last day is a rest day ends on the
    next working day (民法典 art. 203); working-day periods always end on a working day.
    """
    return clock.end_of_day(_due_day(unit, start_day, length, to_working_day)[0])


def _due_day(unit: str, start_day: date, length: int, to_working_day: bool) -> tuple[date, int]:
    """The deadline's day and the days it was moved past rest days."""
    if unit == TimerUnit.WORKING_DAYS:
        return get_working_calendar().add_working_days(start_day, length), 0
    end = add_period(start_day, length, "d")
    if not to_working_day:
        return end, 0
    due_day = get_working_calendar().next_working_day(end)
    return due_day, (due_day - end).days


def _set_deadline(timer: Timer, start_day: date, length: int, to_working_day: bool) -> None:
    due_day, shift = _due_day(timer.unit, start_day, length, to_working_day)
    timer.due_at = clock.end_of_day(due_day)
    timer.rest_day_shift = shift


def period_end(timer: Timer) -> date:
    """The last day of the timer's own period: its deadline's day before any rest-day shift."""
    return clock.local(timer.due_at).date() - timedelta(days=timer.rest_day_shift or 0)


def shift_deadline(timer: Timer, delta: int, *, to_working_day: bool = False) -> None:
    """Move a running timer's deadline by ``delta`` units (negative: earlier), as a new policy version asks.

    Counted from the period's own end, so a rest-day shift is applied once, to the new end.
    """
    end = period_end(timer)
    if delta >= 0:
        _set_deadline(timer, end, delta, to_working_day)
    elif timer.unit == TimerUnit.WORKING_DAYS:
        timer.due_at = clock.end_of_day(get_working_calendar().subtract_working_days(end, -delta))
        timer.rest_day_shift = 0
    else:
        _set_deadline(timer, end + timedelta(days=delta), 0, to_working_day)


def units_left(timer: Timer, today: date) -> int:
    """Whole units between today and the end of the timer's period (0 when already due).

    A calendar-day period counts to its own end, not to the rest-day shift: the shift is
    applied again where the period ends after a resume.
    """
    end = period_end(timer)
    if timer.unit == TimerUnit.WORKING_DAYS:
        return get_working_calendar().working_days_between(today, end)
    return max(0, (end - today).days)


def open_timers(case: Case) -> list[Timer]:
    return list(
        db.session.scalars(
            select(Timer).where(
                Timer.case_id == case.id, Timer.status.in_([TimerStatus.RUNNING, TimerStatus.PAUSED])
            )
        )
    )


def start_timers(case: Case, state_name: str) -> list[Timer]:
    """The clocks a new case starts in its first state, and its deadline (``case.due_at``),
    computed before the case is inserted, so that its INSERT carries the deadline; the timers,
    not added to the session, go in after it with ``insert_timers``."""
    state = CASE_WORKFLOWS[case.kind].state(state_name)
    now, today = clock.now(), clock.today()
    body = get_policy(case.policy_version).body
    timers = [_new_timer(case, name, clock_rule(body, case.kind, name), now, today) for name in state.clocks]
    case.due_at = min((t.due_at for t in timers), default=None)
    return timers


def insert_timers(case: Case, timers: list[Timer]) -> None:
    """The new case's timers (``start_timers``), once it has its id: one statement for all,
    a multi-row INSERT or an executemany, nothing read back (nothing reads them in the same
    transaction; the next look-up loads them)."""
    columns = [c.key for c in Timer.__table__.columns if c.key != "id"]
    rows = [{**{name: t.__dict__[name] for name in columns if name in t.__dict__}, "case_id": case.id}
            for t in timers]  # what was set; the columns' defaults for the rest
    if rows:
        db.session.execute(Timer.__table__.insert(), rows)  # the table's: no ORM bulk machinery


def _new_timer(case: Case, name: str, rule: ClockRule, now: datetime, today: date) -> Timer:
    timer = Timer(case_id=case.id, clock=name, unit=rule.unit, length=rule.length,
                  policy_version=case.policy_version, status=TimerStatus.RUNNING, started_at=now)
    _set_deadline(timer, today, rule.length, rule.shift_to_working_day)
    return timer


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
            timers[name] = _new_timer(case, name, rule, now, today)  # its deadline computed before the add
            db.session.add(timers[name])
        elif timer.status == TimerStatus.PAUSED:
            remaining = timer.length if rule.restart_on_resume else timer.remaining
            due_day, shift = _due_day(timer.unit, today, remaining, rule.shift_to_working_day)  # before any change
            timer.status = TimerStatus.RUNNING
            timer.due_at, timer.rest_day_shift = clock.end_of_day(due_day), shift
            timer.paused_at = timer.remaining = None
            timer.due_soon_at = timer.breached_at = None  # a new deadline gets its own reminders
    db.session.flush()  # the new timers in one multi-row INSERT
    # Every open timer of the case is in hand (the stopped ones too, marked so): no second look-up.
    case.due_at = min((t.due_at for t in timers.values() if t.status == TimerStatus.RUNNING), default=None)


def extend_timer(case: Case, clock_name: str) -> Timer:
    """Grant the policy's documented extension to a running clock."""
    timer = next(t for t in open_timers(case) if t.clock == clock_name and t.status == TimerStatus.RUNNING)
    rule = clock_rule(get_policy(timer.policy_version).body, case.kind, clock_name)
    _set_deadline(timer, period_end(timer), rule.extension, rule.shift_to_working_day)
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
    timer.remaining = units_left(timer, today)
    timer.status = TimerStatus.PAUSED
    timer.paused_at = now
    timer.due_at = None
    timer.rest_day_shift = 0


def _stop(timer: Timer, now: datetime) -> None:
    timer.status = TimerStatus.STOPPED
    timer.stopped_at = now
