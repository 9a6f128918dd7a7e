"""SLA compliance: of the deadlines that came due or ended in a window, how many were met.

The rules, each deadline charged to whom its clock binds:

- A clock that binds a department (its verification, its opinion) counts for the case's
  department; every other staff clock (accept, refer, reply, overall) is the platform's own,
  whatever department the case is about (``department_id`` None). Clocks that bind the
  applicant (a supplement, the reopen window) are not staff's to meet and are not counted.
- Met: the step was done by its deadline, in the window.
- Missed: the step ended after its deadline, in the window, or is still open past its deadline
  now (in every window until it ends: an overdue step never drops out of sight).
- Neither: the case ended before the step could be done, while its deadline still ran. A
  step is done only by a move of whom its clock binds; a timer stopped by anyone else's (the
  applicant withdrew, the system closed the case when its record retired) was not kept. Not
  accepting a case is the platform's move, but it finishes only the acceptance step: the
  case's later deadlines (overall) were never put to the test. A deadline that had already
  passed when the case ended that way was missed all the same, as it showed until then. (A
  lapse ends a case whose staff clocks stand still: a paused clock has no deadline to count.)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, false, func, literal, not_, or_, select
from sqlalchemy import case as when

from app import clock
from app.extensions import db
from app.models import Case, CaseEvent, Department, Timer
from app.models.enums import Role, TimerStatus
from workflows import APPLICANT, CASE_WORKFLOWS, DEPARTMENT, PLATFORM, Workflow

# The roles whose moves do the steps charged to each party.
_ACTORS = {PLATFORM: {Role.OFFICER, Role.SUPERVISOR}, DEPARTMENT: {Role.DEPARTMENT}}


def _unfinishing(workflow: Workflow, clock_name: str) -> set[str]:
    """Triggers that stop the clock without its step being done (see the module's docstring).

    A move by someone the clock does not bind; or a refusal to take the case on (a move from
    the first state straight to a final one), for a clock that would have run past that state.
    """
    running = {s.name for s in workflow.states if clock_name in s.clocks}
    actors = _ACTORS[workflow.clock(clock_name).binds]
    found = set()
    for t in workflow.transitions:
        if not running & set(t.source) or t.dest in running or workflow.state(t.dest).pauses:
            continue  # does not stop this clock
        refuses = workflow.initial in t.source and workflow.state(t.dest).final
        if not actors & t.actors or (refuses and not running <= set(t.source)):
            found.add(t.trigger)
    return found


@dataclass(frozen=True)
class Compliance:
    workflow: str
    clock: str
    department_id: int | None  # None: the platform's own step
    total: int  # deadlines met or missed; those that were neither are not here
    met: int
    department: str | None = None  # the department's name

    @property
    def charged_to(self) -> str:
        return PLATFORM if self.department_id is None else DEPARTMENT

    @property
    def missed(self) -> int:
        return self.total - self.met

    @property
    def rate(self) -> float:
        return self.met / self.total if self.total else 1.0


def _charged_to(party: str):
    """A condition on (case kind, timer clock): the clock is charged to ``party``."""
    pairs = [
        and_(Case.kind == kind, Timer.clock.in_(names))
        for kind, workflow in CASE_WORKFLOWS.items()
        if (names := [c.name for c in workflow.clocks if c.binds == party])
    ]
    return or_(false(), *pairs)


def sla_compliance(days: int) -> list[Compliance]:
    """Staff deadlines of the last ``days`` days, per workflow, clock and whom they bind (the
    case's department for a department's clock, None for the platform's), with how many
    were met. One query; the rules are in the module's docstring."""
    now = clock.now()
    timers, met, missed = _judged(now - timedelta(days=days), now)
    rows = db.session.execute(
        select(timers.c.kind, timers.c.clock, timers.c.department_id, Department.name,
               func.count(), func.sum(when((met, 1), else_=0)))
        .outerjoin(Department, Department.id == timers.c.department_id)
        .where(or_(met, missed))
        # Grouped on the subquery's columns: PostgreSQL does not take two renderings of one
        # CASE expression (each with its own parameters) for the same expression.
        .group_by(timers.c.kind, timers.c.clock, timers.c.department_id, Department.name)
    ).all()
    return [
        Compliance(kind, clock_name, department_id, total, int(met_count or 0), name)
        for kind, clock_name, department_id, name, total, met_count in rows
    ]


@dataclass(frozen=True)
class MonthlyCompliance:
    month: str  # YYYY-MM of the deadline, in the platform's zone
    workflow: str
    clock: str
    department_id: int | None  # None: the platform's own step
    total: int
    met: int


def compliance_by_month(since: datetime) -> list[MonthlyCompliance]:
    """The deadlines that fell due from ``since`` to now, met or missed by the same rules as
    ``sla_compliance``, per month of the deadline, workflow, clock and whom they bind."""
    now = clock.now()
    timers, met, missed = _judged(since, now, by_due=True)
    month = local_month(timers.c.due_at, db.session.get_bind().dialect.name).label("month")
    rows = db.session.execute(
        select(month, timers.c.kind, timers.c.clock, timers.c.department_id, func.count(),
               func.sum(when((met, 1), else_=0)))
        .where(or_(met, missed), timers.c.due_at >= since, timers.c.due_at < now)
        .group_by(month, timers.c.kind, timers.c.clock, timers.c.department_id)
    ).all()
    return [MonthlyCompliance(m, kind, name, department, total, int(kept or 0))
            for m, kind, name, department, total, kept in rows]


def local_month(column, dialect: str):
    """``YYYY-MM`` of an instant in the platform's zone (UTC+8 all year: China keeps no summer time).

    SQLite: of the stored text's whole seconds, since its date functions round to milliseconds
    and a deadline at the end of the month's last day (23:59:59.999999) would fall in the next."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(clock.PLATFORM_TZ.key, column), "YYYY-MM")
    return func.strftime("%Y-%m", func.substr(column, 1, 19), "+8 hours")


def _judged(since: datetime, now: datetime, by_due: bool = False):
    """The staff deadlines to judge (a subquery of kind, clock, department_id, status, due_at,
    stopped_at, stopped_by) and the conditions met and missed on it. The deadlines are those
    that ended since ``since`` or run overdue now; ``by_due``: those due since ``since``."""
    # The transition that stopped a timer: the last change of state written at or before its
    # stop. A transition appends its event before it moves the timers, in one transaction,
    # and the next one on the same case only starts after it (the case row is locked).
    stopped_by = func.coalesce(
        select(CaseEvent.trigger)
        .where(CaseEvent.case_id == Timer.case_id, CaseEvent.at <= Timer.stopped_at,
               CaseEvent.from_state != CaseEvent.to_state)
        .order_by(CaseEvent.seq.desc())
        .limit(1)
        .correlate(Timer)
        .scalar_subquery(),
        literal(""),
    )
    department = _charged_to(DEPARTMENT)
    if by_due:
        ended = and_(Timer.status == TimerStatus.STOPPED, Timer.due_at >= since)
    else:
        ended = and_(Timer.status == TimerStatus.STOPPED, Timer.stopped_at >= since, Timer.due_at.is_not(None))
    overdue = and_(Timer.status == TimerStatus.RUNNING, Timer.due_at < now)
    timers = (
        select(
            Case.kind.label("kind"),
            Timer.clock.label("clock"),
            when((department, Case.department_id), else_=None).label("department_id"),
            Timer.status.label("status"),
            Timer.due_at.label("due_at"),
            Timer.stopped_at.label("stopped_at"),
            stopped_by.label("stopped_by"),
        )
        .join(Case, Case.id == Timer.case_id)
        .where(or_(department, _charged_to(PLATFORM)), or_(ended, overdue))
        .subquery()
    )
    unfinished = or_(false(), *[
        and_(timers.c.kind == kind, timers.c.clock == c.name, timers.c.stopped_by.in_(sorted(triggers)))
        for kind, workflow in CASE_WORKFLOWS.items() for c in workflow.clocks
        if c.binds != APPLICANT and (triggers := _unfinishing(workflow, c.name))
    ])
    stopped = timers.c.status == TimerStatus.STOPPED
    met = and_(stopped, timers.c.stopped_at <= timers.c.due_at, not_(unfinished))
    missed = or_(timers.c.status == TimerStatus.RUNNING, and_(stopped, timers.c.stopped_at > timers.c.due_at))
    return timers, met, missed


def summarise(rows: list[Compliance], by: str) -> list[tuple[object, int, int]]:
    """Totals per workflow, per (workflow, clock) or per department: (key, total, met)."""
    totals: dict[object, list[int]] = {}
    for row in rows:
        key = {"workflow": row.workflow, "step": (row.workflow, row.clock), "department": row.department_id}[by]
        total = totals.setdefault(key, [0, 0])
        total[0] += row.total
        total[1] += row.met
    return sorted(((k, t, m) for k, (t, m) in totals.items()), key=lambda r: (str(r[0])))
