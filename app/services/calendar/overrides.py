"""Admins maintain the working-day calendar (工作日历).

A month and a year view tell, for every day, whether it is worked and where that comes
from (an override, the holiday data, or the weekend rule); overrides are added, changed and
removed one by one or imported from the official annual schedule (CSV), all or nothing, by
one routine for the admin console and the CLI (``import_schedule``). Every change is audited
with before and after, in the transaction of the change.

A deadline already set keeps its date: the calendar applies to the deadlines computed after
a change (new steps, resumed clocks, extensions). The preview tells the admin which running
deadlines would fall on another day if computed with the change.

The platform's calendar is rebuilt when the fingerprint of the override table changes
(count, latest id, latest ``created_at``; see ``get_working_calendar``). A row changed in
place leaves count and id alone, and SQLite hands a deleted highest id out again, so every
row written here is stamped later than any row before it (``_stamp``): the fingerprint then
changes on every add, change and removal, also when the clock is frozen.
"""
from __future__ import annotations

import calendar as month_layout
import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import CalendarOverride, Case, Timer, User
from app.models.enums import OverrideKind, TimerStatus, TimerUnit
from app.services.audit import audit_admin_change
from app.services.calendar.working import (
    DayInfo,
    OverrideImport,
    WorkingCalendar,
    get_working_calendar,
    override_stamp,
    parse_override_csv,
)
from app.services.transaction import use_case

MAX_SCHEDULE_BYTES = 256 * 1024  # a year's official schedule is a few dozen lines
PREVIEW_EXAMPLES = 5
OBJECT_TYPE = "calendar_override"


# ---------------------------------------------------------------------------------------
# Views of a month and a year
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCell:
    """One day as the admin sees it, with its override (if any) and what the data alone says."""

    info: DayInfo
    override: CalendarOverride | None = None
    data_info: DayInfo | None = None  # the day without overrides, shown beside an override

    @property
    def day(self) -> date:
        return self.info.day

    @property
    def status(self) -> str:
        """working, weekend, holiday (a day off that is not an ordinary weekend) or makeup (调休上班)."""
        weekend = self.day.weekday() >= 5
        if self.info.working:
            return "makeup" if weekend else "working"
        if weekend and self.info.name is None and self.override is None:
            return "weekend"
        return "holiday"


@dataclass(frozen=True)
class MonthSummary:
    month: int
    working: int
    holidays: int  # days off that are not ordinary weekends
    makeup: int
    overrides: int


@dataclass(frozen=True)
class OverrideRow:
    override: CalendarOverride
    created_by: str | None


@dataclass(frozen=True)
class CalendarView:
    year: int
    month: int
    first_year: int
    last_year: int
    coverage: str  # "holiday-data", "overrides" (no holiday data) or "none" (weekends only)
    weeks: list[list[DayCell | None]]  # Monday first; None outside the month
    months: list[MonthSummary]
    overrides: list[OverrideRow]  # of the whole year

    @property
    def previous(self) -> tuple[int, int] | None:
        year, month = (self.year, self.month - 1) if self.month > 1 else (self.year - 1, 12)
        return (year, month) if year >= self.first_year else None

    @property
    def next(self) -> tuple[int, int] | None:
        year, month = (self.year, self.month + 1) if self.month < 12 else (self.year + 1, 1)
        return (year, month) if year <= self.last_year else None


def calendar_span() -> tuple[int, int]:
    """The first and last year the platform's calendar computes."""
    working = get_working_calendar()
    return working.first_year, working.last_year


def _check_day(working: WorkingCalendar, day: date) -> None:
    if not working.first_year <= day.year <= working.last_year:
        raise InvalidInput(_l("%(day)s is outside the calendar's years %(first)d-%(last)d.",
                              day=day.isoformat(), first=working.first_year, last=working.last_year))


def calendar_view(year: int, month: int) -> CalendarView:
    """The month grid, the twelve months of its year in figures and the year's overrides."""
    working = get_working_calendar()
    if not working.first_year <= year <= working.last_year:
        raise InvalidInput(_l("Choose a year from %(first)d to %(last)d.", first=working.first_year, last=working.last_year))
    if not 1 <= month <= 12:
        raise InvalidInput(_l("Choose a month from 1 to 12."))
    rows = db.session.execute(
        select(CalendarOverride, User.username)
        .outerjoin(User, User.id == CalendarOverride.created_by_id)
        .where(CalendarOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(CalendarOverride.day)
    ).all()
    overrides = {o.day: o for o, _ in rows}
    data_only = WorkingCalendar(year, year)  # one year without overrides: cheap
    cells: dict[date, DayCell] = {}
    for ordinal in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1):
        day = date.fromordinal(ordinal)
        override = overrides.get(day)
        cells[day] = DayCell(working.describe(day), override, data_only.describe(day) if override else None)
    weeks = [[cells[d] if d.month == month else None for d in week]
             for week in month_layout.Calendar(firstweekday=0).monthdatescalendar(year, month)]
    return CalendarView(
        year=year, month=month, first_year=working.first_year, last_year=working.last_year,
        coverage=_coverage(working, year, cells.values()), weeks=weeks,
        months=_summarise(cells.values()), overrides=[OverrideRow(o, name) for o, name in rows],
    )


def _coverage(working: WorkingCalendar, year: int, cells) -> str:
    if year in working.uncovered:
        return "none"
    if any(c.info.source == "holiday-data" or (c.data_info and c.data_info.source == "holiday-data") for c in cells):
        return "holiday-data"
    return "overrides"


def _summarise(cells) -> list[MonthSummary]:
    counts: Counter[tuple[int, str]] = Counter()
    for cell in cells:
        counts[(cell.day.month, cell.status)] += 1
        counts[(cell.day.month, "override")] += cell.override is not None
    return [MonthSummary(m, counts[(m, "working")] + counts[(m, "makeup")], counts[(m, "holiday")],
                         counts[(m, "makeup")], counts[(m, "override")]) for m in range(1, 13)]


# ---------------------------------------------------------------------------------------
# Preview: how a change would move the running deadlines
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MovedDeadline:
    case_id: int
    case_number: str
    clock: str
    due: date
    new_due: date


@dataclass(frozen=True)
class Preview:
    """The effect of giving ``day`` the status ``working_after`` on the running deadlines."""

    day: date
    current: DayInfo
    working_after: bool
    later: int = 0
    earlier: int = 0
    examples: list[MovedDeadline] = field(default_factory=list)

    @property
    def moved(self) -> int:
        return self.later + self.earlier

    @property
    def changes_day(self) -> bool:
        return self.current.working != self.working_after


def preview_override(day: date, kind: str) -> Preview:
    """What an override ``kind`` on ``day`` would do to the running deadlines."""
    working = get_working_calendar()
    _check_day(working, day)
    _check_kind(kind)
    return _preview(working, day, {**working.overrides, day: kind})


def _preview(working: WorkingCalendar, day: date, proposed: dict[date, str]) -> Preview:
    """Compare each running working-day deadline computed with and without the change.

    Only one day changes, so a deadline moves exactly when its period spans the day (started
    before it, due on or after it): one working day later if the day stops being worked,
    earlier if it starts. The database counts those (the sweep's index on status and
    deadline bounds the scan); a few of them are recomputed on the proposed calendar as
    examples. The start is the day the clock started; a clock resumed after a pause counts
    from its resume day, so for a day in the past the count may include some that would not move.
    """
    current = working.describe(day)
    if day in proposed:
        working_after = proposed[day] == OverrideKind.WORKDAY
    else:  # the override removed: the holiday data (or the weekend rule) decides
        working_after = WorkingCalendar(day.year, day.year).describe(day).working
    preview = Preview(day, current, working_after)
    if not preview.changes_day:
        return preview
    spanning = (
        select(Timer.started_at, Timer.due_at, Case.id, Case.number, Timer.clock)
        .join(Case, Case.id == Timer.case_id)
        .where(Timer.status == TimerStatus.RUNNING, Timer.unit == TimerUnit.WORKING_DAYS,
               Timer.started_at < clock.start_of_day(day), Timer.due_at >= clock.start_of_day(day))
    )
    count = db.session.scalar(select(func.count()).select_from(spanning.subquery())) or 0
    rows = db.session.execute(spanning.order_by(Timer.due_at, Timer.id).limit(PREVIEW_EXAMPLES)).all()
    examples = _recompute(working, proposed, rows)
    if working_after:
        return Preview(day, current, working_after, earlier=count, examples=examples)
    return Preview(day, current, working_after, later=count, examples=examples)


def _recompute(working: WorkingCalendar, proposed: dict[date, str], rows) -> list[MovedDeadline]:
    if not rows:
        return []
    changed = WorkingCalendar(working.first_year, working.last_year, proposed)
    examples = []
    for started_at, due_at, case_id, number, clock_name in rows:
        start, due = clock.local(started_at).date(), clock.local(due_at).date()
        try:
            new_due = changed.add_working_days(start, working.working_days_between(start, due))
        except ValueError:  # a clock older than the calendar's span, or running past it
            continue
        examples.append(MovedDeadline(case_id, number, clock_name, due, new_due))
    return examples


# ---------------------------------------------------------------------------------------
# Changes: add or change, remove, import
# ---------------------------------------------------------------------------------------


def _snapshot(override: CalendarOverride) -> dict:
    return {"day": override.day.isoformat(), "kind": override.kind, "note": override.note}


def _check_kind(kind: str) -> None:
    if kind not in {k.value for k in OverrideKind}:
        raise InvalidInput(_l("The kind must be holiday or workday."))


@use_case
def add_override(actor: User, day: date, kind: str, note: str | None = None) -> CalendarOverride:
    """Give ``day`` the status ``kind``: a new override, or a change to the day's override."""
    working = get_working_calendar()
    _check_day(working, day)
    _check_kind(kind)
    note = (note or "").strip()[:200] or None
    override = db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == day))
    if override is None:
        override = CalendarOverride(day=day, kind=kind, note=note, created_by_id=actor.id, created_at=override_stamp())
        db.session.add(override)
        _flush_or_conflict()
        audit_admin_change(actor, "calendar.add", OBJECT_TYPE, override.id, None, _snapshot(override))
    else:
        if override.kind == kind and override.note == note:
            raise InvalidInput(_l("%(day)s already has this override.", day=day.isoformat()))
        before = _snapshot(override)
        override.kind, override.note = kind, note
        override.created_by_id, override.created_at = actor.id, override_stamp()
        audit_admin_change(actor, "calendar.change", OBJECT_TYPE, override.id, before, _snapshot(override))
    db.session.commit()
    return override


@dataclass(frozen=True)
class Removed:
    day: date
    kind: str
    preview: Preview | None  # what the removal does to deadlines (None outside the calendar's span)


@use_case
def remove_override(actor: User, override_id: int) -> Removed:
    """Remove an override: the day follows the holiday data (or the weekend rule) again."""
    override = db.session.get(CalendarOverride, override_id)
    if override is None:
        raise NotFound(_l("This override does not exist (any more)."))
    working = get_working_calendar()
    preview = None
    if working.first_year <= override.day.year <= working.last_year:
        preview = _preview(working, override.day, {d: k for d, k in working.overrides.items() if d != override.day})
    removed = Removed(override.day, override.kind, preview)
    audit_admin_change(actor, "calendar.remove", OBJECT_TYPE, override.id, _snapshot(override), None)
    db.session.delete(override)
    db.session.commit()
    return removed


def decode_schedule(data: bytes) -> str:
    """The text of an uploaded schedule: UTF-8 (with or without BOM), else GB18030 (Excel's
    Chinese CSV); anything else is refused with a message."""
    if len(data) > MAX_SCHEDULE_BYTES:
        raise InvalidInput(_l("The file is larger than %(kb)d KB; a year's schedule is a few dozen lines.",
                              kb=MAX_SCHEDULE_BYTES // 1024))
    if not data.strip():
        raise InvalidInput(_l("The file is empty."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise InvalidInput(_l("The file is not text in UTF-8 or GB18030. Save it as CSV (UTF-8) and upload it again."))


@use_case
def import_schedule(actor: User | None, data: bytes) -> OverrideImport:
    """Import the official schedule (``date,kind[,note]`` lines): every line checked, all
    imported or, with any bad line, none. The one import routine, for the admin console and for
    the CLI (``flask calendar import``).

    Raises InvalidInput for a file that cannot be read; returns the report, with ``errors``
    if nothing was imported. One audit row lists the days added and changed, before and after,
    by ``actor``: the admin, or for the CLI the admin named with ``--by``; without one (the CLI
    run as the operator) the row is the system's, and the overrides carry no author.
    """
    text = decode_schedule(data)
    try:
        rows, errors = parse_override_csv(text)
    except csv.Error as error:
        raise InvalidInput(_l("The file cannot be read as CSV: %(error)s", error=str(error)[:100])) from None
    working = get_working_calendar()
    errors += [str(_l("%(day)s is outside the calendar's years %(first)d-%(last)d.", day=day.isoformat(),
                      first=working.first_year, last=working.last_year))
               for day, _kind, _note in rows if not working.first_year <= day.year <= working.last_year]
    if not rows and not errors:
        errors.append(str(_l("The file has no lines of date,kind[,note].")))
    report = OverrideImport(errors=errors)
    if errors:
        return report
    days = [day for day, _kind, _note in rows]
    existing = {o.day: o for o in db.session.scalars(
        select(CalendarOverride).where(CalendarOverride.day.between(min(days), max(days))))}
    stamp = override_stamp()
    author = actor.id if actor is not None else None
    before: dict[str, dict] = {}
    after: dict[str, dict] = {}
    for day, kind, note in rows:
        current = existing.get(day)
        if current is None:
            current = CalendarOverride(day=day, kind=kind, note=note, created_by_id=author, created_at=stamp)
            db.session.add(current)
            report.added.append(day)
        elif current.kind != kind or (note and current.note != note):
            before[day.isoformat()] = {"kind": current.kind, "note": current.note}
            current.kind, current.note = kind, note or current.note
            current.created_by_id, current.created_at = author, stamp
            report.changed.append(day)
        else:
            report.unchanged.append(day)
            continue
        after[day.isoformat()] = {"kind": current.kind, "note": current.note}
    if after:
        _flush_or_conflict()
        audit_admin_change(actor, "calendar.import", OBJECT_TYPE, None, before or None, after)
        db.session.commit()
    return report


def _flush_or_conflict() -> None:
    """Another admin gave one of the days an override meanwhile (the day is unique): a 409."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("Someone else changed the calendar meanwhile. Reload the page and try again.")) from None
