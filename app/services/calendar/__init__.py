"""The calendar: Civil Code periods, working days (holiday data and overrides), overrides managed by admins.

Use cases (each commits once, or raises and is rolled back): ``add_override``,
``remove_override``, ``import_schedule`` (the one import, for the admin console and the CLI).
The rest are queries and the pure calendar arithmetic.
"""
from app.services.calendar.overrides import (
    MAX_SCHEDULE_BYTES,
    CalendarView,
    Removed,
    add_override,
    calendar_span,
    calendar_view,
    import_schedule,
    preview_override,
    remove_override,
)
from app.services.calendar.periods import InvalidPeriod, add_period, end_of_period, parse_period
from app.services.calendar.working import (
    DayInfo,
    OverrideImport,
    WorkingCalendar,
    fingerprint_columns,
    get_working_calendar,
    keep_fingerprint,
    uncovered_years,
)

__all__ = [
    "MAX_SCHEDULE_BYTES", "CalendarView", "DayInfo", "InvalidPeriod", "OverrideImport", "Removed", "WorkingCalendar",
    "add_override", "add_period", "calendar_span", "calendar_view", "end_of_period", "fingerprint_columns",
    "get_working_calendar", "import_schedule", "keep_fingerprint", "parse_period", "preview_override", "remove_override", "uncovered_years",
]
