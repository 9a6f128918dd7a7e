"""Public statistics on how objections, complaints and repairs are handled (信用信息公开).

Per month (in the platform's zone) and per department: what was received, accepted and decided,
by outcome; the deadlines met, per kind of deadline; the median handling time in working days;
the records provided and how many of them late. Counts only, from the case and record events,
never a person. The schema (``CASE_FIELDS``, ``DEADLINE_FIELDS``) is stable and documented in
docs/statistics.md, for open-data portals.

Small cells are suppressed: a count from 1 to ``STATISTICS_MIN_CELL - 1`` is published as
``None`` (a zero discloses no one and is shown), and so is a share or a median computed from
fewer cases than that. Each month also has a row for every case together (``scope`` "all"):
where a month's column suppresses exactly one department's cell, the next smallest is
suppressed too, so that no suppressed cell is the total less the others.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from sqlalchemy import case as when
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Case, CaseEvent, CreditRecord, Department
from app.models.enums import CaseKind
from app.services.sla import compliance_by_month, local_month
from app.services.statistics.handling import handling_days
from workflows import CASE_WORKFLOWS

SCHEMA = "casedesk-statistics/1"
MONTHS = 24  # published months, the current one included

# (case kind, trigger) -> the field its events count: every submission, and the moves the
# workflows count for the public (``counted_as``), decisions by their outcome.
_PLURAL = {CaseKind.OBJECTION: "objections", CaseKind.REPAIR: "repairs", CaseKind.COMPLAINT: "complaints"}
_COUNTED: dict[tuple[str, str], str] = {}
for _kind, _workflow in CASE_WORKFLOWS.items():
    _COUNTED[(_kind, "submit")] = f"{_PLURAL[_kind]}_received"  # the event that opens a case's history
    for _t in _workflow.transitions:
        if _t.counted_as:
            _COUNTED[(_kind, _t.trigger)] = f"{_PLURAL[_kind]}_{_t.counted_as}"
        elif _t.outcome:
            _COUNTED[(_kind, _t.trigger)] = f"{_PLURAL[_kind]}_decided_{_t.outcome}"
COUNTS = tuple(dict.fromkeys(_COUNTED.values())) + ("records_provided", "records_provided_late")
MEDIANS = ("objection_median_working_days", "repair_median_working_days", "complaint_median_working_days")
CASE_FIELDS = ("month", "scope", "department_code", "department", *COUNTS, *MEDIANS)
DEADLINE_FIELDS = ("month", "scope", "department_code", "department", "workflow", "deadline", "deadlines", "met",
                   "met_share")
_MEDIAN_OF = {CaseKind.OBJECTION: MEDIANS[0], CaseKind.REPAIR: MEDIANS[1], CaseKind.COMPLAINT: MEDIANS[2]}
# Scopes of a row: one department's cases and records; the cases about no department (a
# complaint about the platform's handling); every case and record of the month.
DEPARTMENT, NONE, ALL = "department", "none", "all"


@dataclass
class Report:
    generated_at: datetime
    threshold: int
    months: list[str]
    cases: list[dict] = field(default_factory=list)  # CASE_FIELDS each
    deadlines: list[dict] = field(default_factory=list)  # DEADLINE_FIELDS each


def build_report(months: int = MONTHS) -> Report:
    """The published figures of the last ``months`` months, suppressed. It reads every counted
    event and record of the months, grouped: the scheduler's job computes it and the pages read
    the stored snapshot (``snapshot.published_report``)."""
    threshold = int(current_app.config["STATISTICS_MIN_CELL"])
    today = clock.today()
    first = _month_start(today, months - 1)
    since = clock.start_of_day(first)
    dialect = db.session.get_bind().dialect.name
    names = {d.id: (d.code, d.name) for d in db.session.scalars(select(Department))}

    raw: dict[tuple[str, int | None], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    month = local_month(CaseEvent.at, dialect).label("month")
    for m, department, kind, trigger, n in db.session.execute(
        select(month, Case.department_id, Case.kind, CaseEvent.trigger, func.count())
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.at >= since, CaseEvent.trigger.in_({t for _, t in _COUNTED}))
        .group_by(month, Case.department_id, Case.kind, CaseEvent.trigger)
    ):
        if (kind, trigger) in _COUNTED:
            raw[(m, department)][_COUNTED[(kind, trigger)]] += n
    published = local_month(CreditRecord.published_at, dialect).label("month")
    for m, department, n, late in db.session.execute(
        select(published, CreditRecord.department_id, func.count(),
               func.sum(when((CreditRecord.published_late, 1), else_=0)))
        .where(CreditRecord.published_at >= since)
        .group_by(published, CreditRecord.department_id)
    ):
        raw[(m, department)]["records_provided"] += n
        raw[(m, department)]["records_provided_late"] += int(late or 0)

    medians, whole_medians = handling_days(since, dialect)
    month_list = [month_label(_month_start(today, back)) for back in range(months - 1, -1, -1)]
    report = Report(clock.now(), threshold, month_list)
    for m in month_list:
        keys = sorted({d for (mm, d) in list(raw) + list(medians) if mm == m}, key=lambda d: (d is None, d))
        rows = []
        for department in keys:
            counts = raw.get((m, department), {})
            scope = DEPARTMENT if department is not None else NONE
            code, name = names.get(department, ("", "")) if department is not None else ("", "")
            rows.append(_case_row(m, scope, code, name, counts, medians.get((m, department), {}), threshold))
        _suppress_complements(rows, COUNTS)
        whole: dict[str, int] = defaultdict(int)
        for department in keys:
            for name_, n in raw.get((m, department), {}).items():
                whole[name_] += n
        report.cases.append(_case_row(m, ALL, "", "", whole, whole_medians.get(m, {}), threshold))
        report.cases.extend(rows)
    report.deadlines = _deadline_rows(since, names, threshold, set(month_list))
    return report


def _month_start(today: date, back: int) -> date:
    year, month = today.year, today.month - back
    while month <= 0:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _shown(n: int, threshold: int) -> int | None:
    return None if 0 < n < threshold else n


def _case_row(m, scope, code, name, counts, medians, threshold) -> dict:
    """``medians``: kind -> (median working days, cases), from ``handling_days``."""
    row = {"month": m, "scope": scope, "department_code": code, "department": name}
    row.update({f: _shown(int(counts.get(f, 0)), threshold) for f in COUNTS})
    for kind, fieldname in _MEDIAN_OF.items():
        median, n = medians.get(kind, (None, 0))
        row[fieldname] = median if n >= threshold else None
    return row


def _suppress_complements(rows: list[dict], fields) -> None:
    """Where one row's cell of a column is suppressed among rows that add up to a published
    total (a month's departments), suppress the next smallest too: the total would give it away."""
    for fieldname in fields:
        hidden = [r for r in rows if r[fieldname] is None]
        if len(hidden) == 1:
            shown = [r for r in rows if r[fieldname]]  # zeros tell nothing: the next smallest count
            if shown:
                min(shown, key=lambda r: r[fieldname])[fieldname] = None


def _deadline_rows(since: datetime, names: dict, threshold: int, months: set[str]) -> list[dict]:
    rows, whole = [], defaultdict(lambda: [0, 0])
    for c in compliance_by_month(since):
        if c.month not in months:
            continue
        whole[(c.month, c.workflow, c.clock)][0] += c.total
        whole[(c.month, c.workflow, c.clock)][1] += c.met
        code, name = names.get(c.department_id, ("", "")) if c.department_id is not None else ("", "")
        rows.append(_deadline_row(c.month, DEPARTMENT if c.department_id else "platform", code, name, c.workflow,
                                  c.clock, c.total, c.met, threshold))
    groups = defaultdict(list)
    for row in rows:
        groups[(row["month"], row["workflow"], row["deadline"])].append(row)
    for group in groups.values():
        _suppress_complements(group, ("deadlines", "met"))
        for row in group:
            if row["deadlines"] is None:
                row["met"] = row["met_share"] = None
    rows += [_deadline_row(m, ALL, "", "", workflow, name, total, met, threshold)
             for (m, workflow, name), (total, met) in whole.items()]
    return sorted(rows, key=lambda r: (r["month"], r["workflow"], r["deadline"], r["scope"] != ALL,
                                       r["department_code"]))


def _deadline_row(m, scope, code, name, workflow, deadline, total, met, threshold) -> dict:
    enough = total >= threshold
    return {"month": m, "scope": scope, "department_code": code, "department": name, "workflow": workflow,
            "deadline": deadline, "deadlines": _shown(total, threshold), "met": met if enough else None,
            "met_share": round(met / total, 4) if enough and total else None}
