"""The calendar: Civil Code periods, working days (holiday data and overrides), overrides managed by admins."""
from app.services.calendar.periods import InvalidPeriod, add_period, end_of_period, parse_period
from app.services.calendar.working import (
    WorkingCalendar,
    get_working_calendar,
    import_overrides,
    uncovered_years,
)

__all__ = [
    "InvalidPeriod", "WorkingCalendar", "add_period", "end_of_period", "get_working_calendar", "import_overrides",
    "parse_period", "uncovered_years",
]
