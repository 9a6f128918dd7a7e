"""SLA compliance: of the deadlines that ended in a window, how many were met."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case as when
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Case, Timer
from app.models.enums import TimerStatus
from workflows import CASE_WORKFLOWS


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
