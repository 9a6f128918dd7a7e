"""SLA timers: started, paused, resumed and stopped as cases change state; the SLA sweep.

Each workflow state says which clocks run in it (``workflows``); this module keeps the
``timer`` rows in step. Deadlines fall at the end of their day in the platform's zone.
Lengths come from the policy version the case was computed under.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Case, Timer
from app.models.enums import TimerStatus, TimerUnit
from app.services import clock
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


# ---------------------------------------------------------------------------------------
# The SLA sweep: level-triggered, so it catches up on everything due after downtime.
# ---------------------------------------------------------------------------------------

# Clocks whose deadline binds someone other than the platform's officers.
_DEPARTMENT_CLOCKS = {"verify", "verify_limit", "department_opinion"}
_APPLICANT_CLOCKS = {"supplement"}


@dataclass
class SweepResult:
    due_soon: int = 0
    breached: int = 0
    escalations: int = 0
    auto_transitions: int = 0


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


def sweep_sla() -> SweepResult:
    """Mark timers due soon and breached, send reminders and escalations, fire breach triggers.

    Each notice has a key made of the timer and its deadline, so a second sweep (or a second
    host) writes nothing new, and a changed deadline gets reminders of its own. Notices are
    held until working hours (``not_before``), where the dispatcher picks them up.
    """
    from app.models import User
    from app.models.enums import Role
    from app.services import notify
    from app.services.policy import get_policy_in_force

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
        if CASE_WORKFLOWS[case.kind].clock(timer.clock).on_breach:
            continue  # a lapse or an automatic close needs no reminder to staff
        payload = {"case": case.number, "clock": timer.clock, "due_at": timer.due_at.isoformat()}
        key = f"due-soon:{timer.id}:{timer.due_at.isoformat()}"
        for user_id, department_id in _responsible(case, timer, supervisors):
            notify.enqueue(
                f"{key}:{user_id or 'd' + str(department_id)}", "sla_due_soon", payload,
                user_id=user_id, department_id=department_id, not_before=deliver_at,
            )

    breached = db.session.scalars(
        select(Timer)
        .where(Timer.status == TimerStatus.RUNNING, Timer.breached_at.is_(None), Timer.due_at < now)
        .with_for_update(skip_locked=True)
    ).all()
    automatic: list[tuple[int, str, str]] = []
    for timer in breached:
        case = timer.case
        timer.breached_at = now
        result.breached += 1
        trigger = CASE_WORKFLOWS[case.kind].clock(timer.clock).on_breach
        if trigger:
            automatic.append((case.id, trigger, timer.clock))
            continue
        payload = {"case": case.number, "clock": timer.clock, "due_at": timer.due_at.isoformat()}
        for supervisor_id in supervisors:
            written = notify.enqueue(
                f"breach:{timer.id}:{timer.due_at.isoformat()}:{supervisor_id}", "sla_breached", payload,
                user_id=supervisor_id, not_before=deliver_at,
            )
            result.escalations += int(written)
    db.session.commit()

    from app.errors import Conflict
    from app.services.cases import Action, transition_case

    for case_id, trigger, clock_name in automatic:
        try:
            transition_case(case_id, Action(trigger, None, reason=f"deadline of {clock_name} passed"), None)
            result.auto_transitions += 1
        except Conflict:
            db.session.rollback()  # the case moved on meanwhile: nothing to do
    return result


def _responsible(case: Case, timer: Timer, supervisors: list[int]) -> list[tuple[int | None, int | None]]:
    """Who is reminded of a deadline: (user id, department id) pairs."""
    if timer.clock in _DEPARTMENT_CLOCKS and case.department_id:
        return [(None, case.department_id)]
    if timer.clock in _APPLICANT_CLOCKS:
        return [(case.applicant_id, None)]
    if case.assignee_id:
        return [(case.assignee_id, None)]
    return [(s, None) for s in supervisors]


# ---------------------------------------------------------------------------------------
# Compliance: of the deadlines that ended in a window, how many were met.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compliance:
    workflow: str
    clock: str
    department_id: int | None
    total: int
    met: int

    @property
    def rate(self) -> float:
        return self.met / self.total if self.total else 1.0


def sla_compliance(days: int) -> list[Compliance]:
    """Staff deadlines that ended (their step finished) in the last ``days`` days, per
    workflow, clock and department, with how many finished by their deadline. Clocks that
    bind the applicant (supplement, reopen window) are not the platform's to meet."""
    from sqlalchemy import case as when
    from sqlalchemy import func

    since = clock.now() - timedelta(days=days)
    staff_clocks = [
        (kind, c.name) for kind, w in CASE_WORKFLOWS.items() for c in w.clocks if not c.on_breach
    ]
    met = func.sum(when((Timer.stopped_at <= Timer.due_at, 1), else_=0))
    rows = db.session.execute(
        select(Case.kind, Timer.clock, Case.department_id, func.count(), met)
        .join(Case, Case.id == Timer.case_id)
        .where(Timer.status == TimerStatus.STOPPED, Timer.stopped_at >= since, Timer.due_at.is_not(None))
        .group_by(Case.kind, Timer.clock, Case.department_id)
    ).all()
    return [
        Compliance(kind, clock_name, department_id, total, int(met_count or 0))
        for kind, clock_name, department_id, total, met_count in rows
        if (kind, clock_name) in staff_clocks
    ]


def summarise(rows: list[Compliance], by: str) -> list[tuple[object, int, int]]:
    """Totals per workflow, per (workflow, clock) or per department: (key, total, met)."""
    totals: dict[object, list[int]] = {}
    for row in rows:
        key = {"workflow": row.workflow, "step": (row.workflow, row.clock), "department": row.department_id}[by]
        total = totals.setdefault(key, [0, 0])
        total[0] += row.total
        total[1] += row.met
    return sorted(((k, t, m) for k, (t, m) in totals.items()), key=lambda r: (str(r[0])))
