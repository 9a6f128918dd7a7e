"""The median handling time of the public statistics: working days from receipt to the end.

Per (month closed, department) and kind, and per month and kind over every case together (the
"all" rows), the median of each case's working days after the day it was received up to the day
it reached a done state (``WorkingCalendar.working_days_between``), with how many cases it is of.

PostgreSQL computes it in the database, set-based: each case's working days are two look-ups in
one array parameter (the count of working days up to each day of the calendar's span), the
medians ``percentile_cont(0.5)`` over them, per group and per month (grouping sets): a few
hundred rows, whatever the number of cases. SQLite has no percentiles: the cases are grouped by
their two days (rows are distinct pairs of days, not cases) and the medians taken in Python. Both
are exact, the mean of the two middle values for an even count, as ``statistics.median``.
"""
from __future__ import annotations

import statistics as stats
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, and_, bindparam, cast, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.expression import Grouping

from app import clock
from app.extensions import db
from app.models import Case
from app.services.calendar import get_working_calendar
from app.services.sla import local_month

# (month, department) -> kind -> (median working days, cases); and month -> kind -> the same.
Medians = dict[tuple[str, int | None], dict[str, tuple[float, int]]]
WholeMedians = dict[str, dict[str, tuple[float, int]]]


def handling_days(since: datetime, dialect: str) -> tuple[Medians, WholeMedians]:
    """The medians of the cases that reached a done state from ``since``, per department and whole."""
    if dialect == "postgresql":
        return _in_database(since)
    return _in_python(since, dialect)


def _local_day(column, dialect: str):
    if dialect == "postgresql":
        return func.date(func.timezone(clock.PLATFORM_TZ.key, column))
    return func.date(func.substr(column, 1, 19), "+8 hours")  # whole seconds: see ``local_month``


def _done_since(since: datetime):
    return and_(Case.closed_at.is_not(None), Case.closed_at >= since)


def _in_database(since: datetime) -> tuple[Medians, WholeMedians]:
    calendar = get_working_calendar()
    first = date(calendar.first_year, 1, 1)
    span = (date(calendar.last_year, 12, 31) - first).days + 1
    # upto[k]: working days after ``first`` up to and including first + k; between two days, the difference.
    upto = [calendar.working_days_between(first, first + timedelta(days=k)) for k in range(span)]
    counts = Grouping(bindparam("upto", upto, type_=ARRAY(Integer)))  # (:upto)[k]: PostgreSQL wants the brackets
    origin = bindparam("origin", first, type_=Date)

    def position(column):  # 1-based; a day outside the span reads NULL, as the calendar refuses it
        return cast(_local_day(column, "postgresql"), Date) - origin + 1

    # A case ends no earlier than it was received (``ck_case_closed_after_submitted``): never negative.
    days = counts[position(Case.closed_at)] - counts[position(Case.submitted_at)]
    cases = (select(local_month(Case.closed_at, "postgresql").label("month"), Case.department_id, Case.kind,
                    days.label("days"))
             .where(_done_since(since))
             .subquery())
    rows = db.session.execute(
        select(cases.c.month, cases.c.department_id, cases.c.kind, func.grouping(cases.c.department_id),
               func.percentile_cont(0.5).within_group(cases.c.days), func.count(), func.count(cases.c.days))
        .group_by(func.grouping_sets(tuple_(cases.c.month, cases.c.department_id, cases.c.kind),
                                     tuple_(cases.c.month, cases.c.kind)))
    )
    by_department: Medians = defaultdict(dict)
    whole: WholeMedians = defaultdict(dict)
    for month, department, kind, across, median, n, counted in rows:
        if counted != n:
            raise ValueError(f"a case closed in {month} has a day outside the calendar span "
                             f"{calendar.first_year}-{calendar.last_year}")
        target = whole[month] if across else by_department[(month, department)]
        target[kind] = (float(median), n)
    return by_department, whole


def _in_python(since: datetime, dialect: str) -> tuple[Medians, WholeMedians]:
    submitted = _local_day(Case.submitted_at, dialect).label("received_on")
    closed = _local_day(Case.closed_at, dialect).label("ended_on")
    month = local_month(Case.closed_at, dialect).label("month")
    calendar = get_working_calendar()
    pairs: dict = defaultdict(lambda: defaultdict(list))
    merged: dict = defaultdict(lambda: defaultdict(list))
    for m, department, kind, start, end, n in db.session.execute(
        select(month, Case.department_id, Case.kind, submitted, closed, func.count())
        .where(_done_since(since))
        .group_by(month, Case.department_id, Case.kind, submitted, closed)
    ):
        start, end = (d if isinstance(d, date) else date.fromisoformat(d) for d in (start, end))
        value = (calendar.working_days_between(start, end), n)
        pairs[(m, department)][kind].append(value)
        merged[m][kind].append(value)
    by_department: Medians = {key: {kind: _median(found) for kind, found in kinds.items()}
                              for key, kinds in pairs.items()}
    whole: WholeMedians = {m: {kind: _median(found) for kind, found in kinds.items()} for m, kinds in merged.items()}
    return by_department, whole


def _median(pairs: list[tuple[int, int]]) -> tuple[float, int]:
    """The median of values given as (value, how many times), and how many they are."""
    values = sorted(pairs)
    total = sum(n for _, n in values)
    return float(stats.median(_nth(values, k) for k in ((total - 1) // 2, total // 2))), total


def _nth(values: list[tuple[int, int]], k: int) -> int:
    for value, n in values:
        if k < n:
            return value
        k -= n
    raise IndexError(k)
