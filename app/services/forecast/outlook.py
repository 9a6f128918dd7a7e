"""What the sweeps will do over the next working days, read without writing anything.

The expiry job retires a record in publicity on the first run after its last day of publicity
(``publicity_end < today``): the day after, or today if it is already past. The SLA sweep marks
a running clock due soon on the first day whose horizon (``lead`` working days on, to the end of
that day) reaches its deadline, and breached on its first run after the deadline; deadlines fall
at the end of a day (``clock.end_of_day``), so a deadline of day D is breached on D + 1. The
forecast asks the same tables the same questions, grouped: one statement for the records, one
for the clocks, then Python over the distinct days (a few hundred), never over rows.

A deadline is at risk when its step is not likely to finish in time: the step's median duration
in the last ``RISK_WINDOW`` (elapsed time, over the clocks of that step stopped in the window),
counted from when the clock started, ends after the deadline.

Whose a day's figures are: a record's department for retirements; for deadlines, whom the clock
binds (``workflows``): the case's department for its own steps, else the platform (officers),
else the applicants (a supplement, the reopen window, which lapse by themselves).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, column, func, select, text

from app import clock, csv_export
from app.extensions import db
from app.labels import label
from app.models import CreditRecord, Department
from app.models.base import UTCDateTime
from app.models.enums import TimerStatus
from app.services.calendar import get_working_calendar
from app.services.policy import get_policy_in_force
from app.services.sla.marks import RULES
from workflows import APPLICANT, CASE_WORKFLOWS, DEPARTMENT, IN_PUBLICITY, PLATFORM

HORIZONS = (7, 30, 90)  # working days the pages offer
MAX_HORIZON = 250  # about a year of working days
RISK_WINDOW = timedelta(days=90)
PARTIES = (DEPARTMENT, PLATFORM, APPLICANT)


@dataclass
class Figures:
    retiring: int = 0  # records the expiry job retires that day
    falling_due: int = 0  # deadlines that end that day
    at_risk: int = 0  # of those, whose step is not likely to finish in time
    due_soon: int = 0  # clocks the SLA sweep marks due soon that day (and reminds whom they bind)

    def add(self, other: Figures) -> None:
        self.retiring += other.retiring
        self.falling_due += other.falling_due
        self.at_risk += other.at_risk
        self.due_soon += other.due_soon


@dataclass
class Row:
    """One day's figures of one party: a department (``department_id``), the platform or the applicants."""

    day: date
    party: str
    department_id: int | None
    department: str | None
    figures: Figures


@dataclass
class Forecast:
    today: date
    until: date  # the last day forecast: ``working_days`` working days after today
    working_days: int
    days: list[date]
    rows: list[Row]  # by day, then party and department name
    overdue: dict[tuple[str, int | None], int] = field(default_factory=dict)  # running clocks past their deadline

    def totals(self) -> list[tuple[date, bool, Figures]]:
        """Per day: whether it is a working day, and the figures of every party together."""
        calendar = get_working_calendar()
        by_day: dict[date, Figures] = {day: Figures() for day in self.days}
        for row in self.rows:
            by_day[row.day].add(row.figures)
        return [(day, calendar.is_working_day(day), by_day[day]) for day in self.days]

    def total(self) -> Figures:
        whole = Figures()
        for row in self.rows:
            whole.add(row.figures)
        return whole


CSV_COLUMNS = (_l("Day"), _l("Working day"), _l("Whose"), _l("Department"), _l("Records retiring"),
               _l("Deadlines falling due"), _l("Of which at risk"), _l("Due-soon reminders"))


def forecast_csv(ahead: Forecast) -> Iterator[str]:
    """The forecast per day and party as CSV, in the reader's language (``app.csv_export``)."""
    calendar = get_working_calendar()
    return csv_export.stream(CSV_COLUMNS, (
        (row.day.isoformat(), _("Yes") if calendar.is_working_day(row.day) else _("No"), label("party", row.party),
         row.department or "", row.figures.retiring, row.figures.falling_due, row.figures.at_risk,
         row.figures.due_soon)
        for row in ahead.rows))


def forecast(working_days: int, department_id: int | None = None) -> Forecast:
    """The next ``working_days`` working days, from today; one department's slice when given
    (its records, the deadlines of its own steps)."""
    if not 1 <= working_days <= MAX_HORIZON:
        raise ValueError(f"working_days must be between 1 and {MAX_HORIZON}")
    now, today = clock.now(), clock.today()
    calendar = get_working_calendar()
    until = calendar.add_working_days(today, working_days)
    days = [today + timedelta(days=n) for n in range((until - today).days + 1)]
    cells: dict[tuple[date, str, int | None], Figures] = defaultdict(Figures)

    for department, last_day, count in _records_retiring(until, department_id):
        cells[(max(today, last_day + timedelta(days=1)), DEPARTMENT, department)].retiring += count

    lead = int(get_policy_in_force().body.get("reminders", {}).get("due_soon_before", {}).get("wd", 1))
    overdue: dict[tuple[str, int | None], int] = defaultdict(int)
    reminder_days: dict[date, date] = {}
    for due_at, party, department, due, at_risk, unmarked in _deadlines(now, until, department_id):
        key_party = (party, department if party == DEPARTMENT else None)
        if due_at < now:
            overdue[key_party] += due
            continue
        due_day = clock.local(due_at).date()
        figures = cells[(due_day, *key_party)]
        figures.falling_due += due
        figures.at_risk += at_risk
        if unmarked:
            if due_day not in reminder_days:
                reminder_days[due_day] = _reminder_day(calendar, today, due_day, lead)
            cells[(reminder_days[due_day], *key_party)].due_soon += unmarked

    names = dict(db.session.execute(select(Department.id, Department.name)).all())
    order = {party: i for i, party in enumerate(PARTIES)}
    rows = [
        Row(day, party, dept, names.get(dept) if dept is not None else None, figures)
        for (day, party, dept), figures in cells.items() if day <= until
    ]
    rows.sort(key=lambda r: (r.day, order[r.party], r.department or ""))
    return Forecast(today, until, working_days, days, rows, dict(overdue))


def _binds(kind: str, clock_name: str) -> str:
    """Whose step a clock of a case of ``kind`` is (the party its figures are counted for)."""
    return CASE_WORKFLOWS[kind].clock(clock_name).binds


def _reminder_day(calendar, today: date, due_day: date, lead: int) -> date:
    """The first day from today whose sweep horizon (``lead`` working days on) reaches ``due_day``."""
    day = today
    while calendar.add_working_days(day, lead) < due_day:
        day += timedelta(days=1)
    return day


def _records_retiring(until: date, department_id: int | None):
    """(department, last day of publicity, records) of the records in publicity that retire by ``until``."""
    stmt = (
        select(CreditRecord.department_id, CreditRecord.publicity_end, func.count())
        .where(CreditRecord.state.in_(IN_PUBLICITY), CreditRecord.publicity_end < until)
        .group_by(CreditRecord.department_id, CreditRecord.publicity_end)
    )
    if department_id is not None:
        stmt = stmt.where(CreditRecord.department_id == department_id)
    return db.session.execute(stmt).all()


def _span(start: str, end: str, dialect: str) -> str:
    """Seconds from ``start`` to ``end`` (two instants)."""
    if dialect == "postgresql":
        return f"extract(epoch FROM ({end} - {start}))"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def step_medians(now: datetime) -> dict[tuple[str, str], float]:
    """(case kind, clock) -> the median seconds its clocks ran, of those stopped in the last RISK_WINDOW."""
    dialect = db.session.get_bind().dialect.name
    since = now - RISK_WINDOW
    span = _span("t.started_at", "t.stopped_at", dialect)
    base = (f"FROM timer AS t JOIN \"case\" AS c ON c.id = t.case_id "
            f"WHERE t.status = '{TimerStatus.STOPPED}' AND t.stopped_at >= :since")
    if dialect == "postgresql":
        sql = (f"SELECT c.kind, t.clock, percentile_cont(0.5) WITHIN GROUP (ORDER BY {span}) {base} "
               "GROUP BY c.kind, t.clock")
        rows = db.session.execute(_bound(sql), {"since": since}).all()
        return {(kind, name): float(seconds) for kind, name, seconds in rows}
    spans: dict[tuple[str, str], list[float]] = defaultdict(list)  # SQLite has no percentile
    for kind, name, seconds in db.session.execute(_bound(f"SELECT c.kind, t.clock, {span} {base}"), {"since": since}):
        spans[(kind, name)].append(seconds)
    return {key: statistics.median(values) for key, values in spans.items()}


def _deadlines(now: datetime, until: date, department_id: int | None):
    """(deadline, party, department, clocks, at risk, not yet marked due soon) of the running
    clocks whose deadline falls by the end of ``until``, those already past it included."""
    dialect = db.session.get_bind().dialect.name
    medians = step_medians(now)
    values = ", ".join(f"('{kind}', '{name}', {seconds:.3f})" for (kind, name), seconds in medians.items())
    median_rows = f"VALUES {values}" if values else "SELECT '' AS kind, '' AS clock, 0.0 AS seconds WHERE 1 = 0"
    department = f"CASE WHEN r.binds = '{DEPARTMENT}' THEN c.department_id END"
    mine = f" AND r.binds = '{DEPARTMENT}' AND c.department_id = :department" if department_id is not None else ""
    sql = (
        f"WITH rules (kind, clock, binds, fires) AS ({RULES}), medians (kind, clock, seconds) AS ({median_rows}) "
        f"SELECT t.due_at, r.binds, {department} AS department_id, count(*) AS due, "
        f"sum(CASE WHEN {_span('t.started_at', 't.due_at', dialect)} < m.seconds THEN 1 ELSE 0 END) AS at_risk, "
        "sum(CASE WHEN t.due_soon_at IS NULL THEN 1 ELSE 0 END) AS unmarked "
        "FROM timer AS t JOIN \"case\" AS c ON c.id = t.case_id "
        "JOIN rules AS r ON r.kind = c.kind AND r.clock = t.clock "
        "LEFT JOIN medians AS m ON m.kind = c.kind AND m.clock = t.clock "
        f"WHERE t.status = '{TimerStatus.RUNNING}' AND t.due_at <= :until{mine} "
        f"GROUP BY t.due_at, r.binds, {department}"
    )
    params = {"until": clock.end_of_day(until)}
    if department_id is not None:
        params["department"] = department_id
    statement = _bound(sql).columns(column("due_at", UTCDateTime()), column("binds"), column("department_id"),
                                    column("due"), column("at_risk"), column("unmarked"))
    for due_at, party, dept, due, at_risk, unmarked in db.session.execute(statement, params):
        yield due_at, party, dept, due, at_risk or 0, unmarked or 0


def _bound(sql: str):
    """``sql`` with its instants typed as the columns store them (``UTCDateTime``)."""
    names = [name for name in ("until", "since") if f":{name}" in sql]
    return text(sql).bindparams(*[bindparam(name, type_=UTCDateTime()) for name in names])
