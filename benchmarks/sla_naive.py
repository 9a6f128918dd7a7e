"""The SLA sweep as it was before it went set-based (git: app/services/sla/sweep.py at 38b74e5):
a loop over the due timers with ``enqueue`` per notice, five or so statements per timer.

Kept as the naive way of ``benchmarks/sla.py`` and as the reference the tests hold the
set-based sweep to (``tests/service/test_sla_sweep_rows.py``: the same rows, key for key).
"""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Case, Timer, User
from app.models.enums import Role, TimerStatus
from app.services.calendar import get_working_calendar
from app.services.notices.outbox import enqueue
from app.services.policy import get_policy_in_force
from app.services.sla import SweepResult, next_working_time
from workflows import APPLICANT, CASE_WORKFLOWS, DEPARTMENT


def naive_sweep() -> SweepResult:
    """The old ``sweep_sla``, line for line (commits once)."""
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
