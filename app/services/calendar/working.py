"""Working days (工作日): the holiday data's China calendar overlaid by admin overrides (DESIGN section 4)."""
from __future__ import annotations

import bisect
import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays as holiday_data
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import CalendarOverride
from app.services.memo import keep, once_per_transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayInfo:
    day: date
    working: bool
    source: str  # "override", "holiday-data", "weekend", "weekday", "weekends-only (no data)"
    name: str | None = None


@lru_cache(maxsize=256)
def _holiday_data(year: int) -> tuple[dict[date, str], frozenset[date]]:
    data = holiday_data.China(years=year, categories=("public",), language="zh_CN")  # official names
    return dict(data.items()), frozenset(d for d in data.weekend_workdays if d.year == year)


def _is_official(year: int) -> bool:
    """Whether the holiday data carries the State Council's schedule for the year.

    The package computes statutory holidays for any year by rule, but the make-up working
    days (调休) only for years whose schedule was published: their presence tells which.
    """
    return bool(_holiday_data(year)[1])


@dataclass
class WorkingCalendar:
    """Working days of a span of years, precomputed: adding N working days is a bisection.

    Each day is decided in this order: an admin override; the holiday data, for years it
    covers (statutory holidays off, make-up Saturdays and Sundays on); otherwise weekends
    off and weekdays on. Years with neither data nor overrides are listed in ``uncovered``.
    """

    first_year: int
    last_year: int
    overrides: dict[date, str] = field(default_factory=dict)
    uncovered: frozenset[int] = field(init=False)
    _ordinals: list[int] = field(init=False, repr=False)
    _override_years: frozenset[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        override_years = {d.year for d in self.overrides}
        self._override_years = frozenset(override_years)
        self.uncovered = frozenset(
            y for y in range(self.first_year, self.last_year + 1) if not _is_official(y) and y not in override_years
        )
        start = date(self.first_year, 1, 1).toordinal()
        end = date(self.last_year, 12, 31).toordinal()
        self._ordinals = [o for o in range(start, end + 1) if self.describe(date.fromordinal(o)).working]

    def describe(self, day: date) -> DayInfo:
        kind = self.overrides.get(day)
        if kind is not None:
            return DayInfo(day, kind == "workday", "override")
        if _is_official(day.year):
            public, makeup = _holiday_data(day.year)
            if day in makeup:
                return DayInfo(day, True, "holiday-data", "调休上班")
            if day in public:
                return DayInfo(day, False, "holiday-data", public[day])
        weekend = day.weekday() >= 5
        source = "weekend" if weekend else "weekday"
        if not _is_official(day.year) and day.year not in self._override_years:
            source = "weekends-only (no data)"
        return DayInfo(day, not weekend, source)

    def is_working_day(self, day: date) -> bool:
        self._check_span(day)
        i = bisect.bisect_left(self._ordinals, day.toordinal())
        return i < len(self._ordinals) and self._ordinals[i] == day.toordinal()

    def add_working_days(self, start: date, n: int) -> date:
        """The day on which N working days after ``start`` end; the start day is not counted."""
        if n < 0:
            raise ValueError("n must not be negative")
        self._check_span(start)
        if n == 0:
            return start
        i = bisect.bisect_right(self._ordinals, start.toordinal()) + n - 1
        if i >= len(self._ordinals):
            raise ValueError(f"{n} working days after {start} run past {self.last_year}")
        due = date.fromordinal(self._ordinals[i])
        for year in range(start.year, due.year + 1):
            if year in self.uncovered:
                _warn_uncovered(year)
        return due

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        self._check_span(day)
        i = bisect.bisect_left(self._ordinals, day.toordinal())
        if i >= len(self._ordinals):
            raise ValueError(f"no working day after {day} before the end of {self.last_year}")
        return date.fromordinal(self._ordinals[i])

    def subtract_working_days(self, day: date, n: int) -> date:
        """The working day N working days before ``day`` (``day`` itself when n is 0)."""
        if n < 0:
            raise ValueError("n must not be negative")
        self._check_span(day)
        i = bisect.bisect_left(self._ordinals, day.toordinal()) - n
        if i < 0:
            raise ValueError(f"{n} working days before {day} run past {self.first_year}")
        return date.fromordinal(self._ordinals[i]) if n else day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
        self._check_span(start)
        self._check_span(end)
        if end <= start:
            return 0
        return bisect.bisect_right(self._ordinals, end.toordinal()) - bisect.bisect_right(
            self._ordinals, start.toordinal()
        )

    def _check_span(self, day: date) -> None:
        if not self.first_year <= day.year <= self.last_year:
            raise ValueError(f"{day} is outside the calendar span {self.first_year}-{self.last_year}")


_cached: tuple[tuple, WorkingCalendar] | None = None
_warned_years: set[int] = set()


def _warn_uncovered(year: int) -> None:
    """Say once per process that a deadline was computed on weekends only."""
    if year not in _warned_years:
        _warned_years.add(year)
        log.warning(
            "no holiday schedule for %s: working days in that year count weekends only "
            "until an admin adds the official schedule as calendar overrides",
            year,
        )


_FINGERPRINT = ("calendar_fingerprint",)  # its key in the transaction's answers (``app.services.memo``)


def fingerprint_columns() -> tuple:
    """What tells whether the overrides changed: their count, latest id and latest change, as
    columns a query can carry along (``get_policy_in_force`` does: a deadline needs both)."""
    return (select(func.count()).select_from(CalendarOverride).scalar_subquery(),
            select(func.max(CalendarOverride.id)).scalar_subquery(),
            select(func.max(CalendarOverride.created_at)).scalar_subquery())


def keep_fingerprint(values) -> None:
    """The fingerprint just read along with another query, for the rest of the transaction."""
    keep(_FINGERPRINT, (CalendarOverride,), tuple(values))


def get_working_calendar() -> WorkingCalendar:
    """The platform's working calendar: holiday data overlaid by the override table.

    Rebuilt when the overrides change (their count and latest change are the fingerprint),
    so an admin's correction takes effect on the next computation, without a restart. The
    fingerprint is read once per transaction (``app.services.memo``: the deadlines of one
    step agree, and a change of the overrides in the transaction reads it again).
    Spans ten years back and five ahead of today.
    """
    global _cached

    this_year = clock.today().year
    fingerprint = (this_year, *once_per_transaction(_FINGERPRINT, (CalendarOverride,), lambda: tuple(
        db.session.execute(select(*fingerprint_columns())).one()
    )))
    if _cached is None or _cached[0] != fingerprint:
        overrides = dict(db.session.execute(select(CalendarOverride.day, CalendarOverride.kind)).all())
        calendar = WorkingCalendar(this_year - 10, this_year + 5, overrides)
        _cached = (fingerprint, calendar)
    return _cached[1]


def uncovered_years(ahead: int = 1) -> list[int]:
    """This year and the next ``ahead`` ones that have neither holiday data nor overrides:
    deadlines that run into them count weekends only, so admins are told on their home page."""
    calendar = get_working_calendar()
    this_year = clock.today().year
    return sorted(y for y in calendar.uncovered if this_year <= y <= this_year + ahead)


# ---------------------------------------------------------------------------------------
# Overrides: the official annual schedule, or corrections to the holiday data.
# ---------------------------------------------------------------------------------------

_KIND_ALIASES = {
    "holiday": "holiday", "off": "holiday", "休": "holiday", "假": "holiday", "放假": "holiday",
    "workday": "workday", "work": "workday", "班": "workday", "上班": "workday", "调休上班": "workday",
}


@dataclass
class OverrideImport:
    added: list[date] = field(default_factory=list)
    changed: list[date] = field(default_factory=list)
    unchanged: list[date] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_override_csv(text: str) -> tuple[list[tuple[date, str, str | None]], list[str]]:
    """Read ``date,kind[,note]`` lines (a header line is allowed); every bad line is reported."""

    rows, errors, seen = [], [], {}
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
            continue
        if number == 1 and fields[0].strip().lower() in ("date", "日期"):
            continue
        if len(fields) < 2:
            errors.append(_("Line %(n)d: expected date,kind[,note].", n=number))
            continue
        raw_day, raw_kind = fields[0].strip(), fields[1].strip()
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            errors.append(_("Line %(n)d: %(value)s is not a date (use YYYY-MM-DD).", n=number, value=raw_day[:20]))
            continue
        kind = _KIND_ALIASES.get(raw_kind.lower())
        if kind is None:
            errors.append(_("Line %(n)d: kind must be holiday or workday, not %(value)s.", n=number, value=raw_kind[:20]))
            continue
        if day in seen:
            errors.append(_("Line %(n)d: %(day)s already appears on line %(first)d.", n=number, day=day, first=seen[day]))
            continue
        seen[day] = number
        note = fields[2].strip()[:200] if len(fields) > 2 and fields[2].strip() else None
        rows.append((day, kind, note))
    return rows, errors


def override_stamp():
    """A ``created_at`` later than any in the override table, for a row written or changed now.

    The calendar's fingerprint (see ``get_working_calendar``) includes the latest
    ``created_at``, so every write must move it, even with a frozen clock or a row changed
    in place: ``created_at`` is the row's last change.
    """


    latest = db.session.scalar(select(func.max(CalendarOverride.created_at)))
    now = clock.now()
    return now if latest is None or now > latest else latest + timedelta(microseconds=1)
