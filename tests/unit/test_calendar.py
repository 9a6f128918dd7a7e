"""Calendar periods (Civil Code art. 201-202) and working days (工作日).

Pure unit tests: ``WorkingCalendar`` is built directly (no database, no Flask app).

2026 official schedule (State Council), checked against the ``holidays`` package in
``test_holidays_package_carries_the_2026_schedule`` below:

* New Year: 01-01 (Thu) .. 01-03 (Sat) off; Sunday 01-04 is a make-up working day.
* Spring Festival: 02-15 (Sun) .. 02-23 (Mon) off; Saturdays 02-14 and 02-28 are make-up days.
* Labour Day: 05-01 .. 05-05 off; Saturday 05-09 is a make-up day.
* Mid-Autumn: 09-25 (Fri) .. 09-27 (Sun) off - a separate holiday in 2026, not joined to National Day.
* National Day: 10-01 (Thu) .. 10-07 (Wed) off; Sunday 09-20 and Saturday 10-10 are make-up days.
"""
from __future__ import annotations

import calendar as stdlib_calendar
import logging
from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.calendar import (
    InvalidPeriod,
    WorkingCalendar,
    add_period,
    end_of_period,
    parse_period,
)
from app.services.calendar import working as working_calendar

D = date
PROPERTY = settings(database=None, max_examples=200, deadline=None)

# One calendar for most tests: 2024-2026 all carry official data.
CAL = WorkingCalendar(2024, 2026)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


# ---------------------------------------------------------------------------------------
# The facts, checked against the holidays package
# ---------------------------------------------------------------------------------------


def test_holidays_package_carries_the_2026_schedule():
    data = holidays.China(years=2026)
    makeup = {d for d in data.weekend_workdays if d.year == 2026}
    assert makeup == {D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)}
    for first, last in [
        (D(2026, 1, 1), D(2026, 1, 3)),
        (D(2026, 2, 15), D(2026, 2, 23)),
        (D(2026, 9, 25), D(2026, 9, 27)),
        (D(2026, 10, 1), D(2026, 10, 7)),
    ]:
        for day in days(first, last):
            assert day in data or day.weekday() >= 5, day
    # The holidays end where the schedule says: the next weekday is not a holiday.
    for after in [D(2026, 1, 5), D(2026, 2, 24), D(2026, 10, 8)]:
        assert after not in data


# ---------------------------------------------------------------------------------------
# Working days: which days
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first, last",
    [
        (D(2026, 1, 1), D(2026, 1, 3)),
        (D(2026, 2, 15), D(2026, 2, 23)),
        (D(2026, 10, 1), D(2026, 10, 7)),
    ],
    ids=["new-year", "spring-festival", "national-day"],
)
def test_holiday_block_is_not_working(first, last):
    assert not any(CAL.is_working_day(day) for day in days(first, last))


@pytest.mark.parametrize(
    "day", [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 9, 20), D(2026, 10, 10)]
)
def test_makeup_weekend_day_is_working(day):
    assert day.weekday() >= 5
    assert CAL.is_working_day(day)


def test_ordinary_weekend_is_not_working_and_weekday_is():
    assert not CAL.is_working_day(D(2026, 3, 7))  # Saturday
    assert not CAL.is_working_day(D(2026, 3, 8))  # Sunday
    assert CAL.is_working_day(D(2026, 3, 9))  # Monday


def test_describe_names_the_source():
    assert CAL.describe(D(2026, 10, 1)).source == "holiday-data"
    assert CAL.describe(D(2026, 10, 1)).name == "国庆节"
    makeup = CAL.describe(D(2026, 10, 10))
    assert (makeup.working, makeup.source, makeup.name) == (True, "holiday-data", "调休上班")
    assert CAL.describe(D(2026, 3, 7)).source == "weekend"
    assert CAL.describe(D(2026, 3, 9)).source == "weekday"


def test_working_days_of_2026_match_a_day_by_day_reference():
    # Reference straight from the package: make-up days on, public holidays and weekends off.
    data = holidays.China(years=2026, categories=("public",))
    makeup = set(data.weekend_workdays)
    for day in days(D(2026, 1, 1), D(2026, 12, 31)):
        expected = day in makeup or (day.weekday() < 5 and day not in data)
        assert CAL.is_working_day(day) == expected, day


def test_2026_has_248_working_days():
    # 2026-01-01 is a Thursday: 52 weeks + 1 Thursday = 261 weekdays.
    # Weekday holidays: 01-01, 01-02; 02-16..02-20, 02-23; 04-06; 05-01, 05-04, 05-05;
    # 06-19; 09-25; 10-01, 10-02, 10-05, 10-06, 10-07 = 2 + 6 + 1 + 3 + 1 + 1 + 5 = 19.
    # Make-up weekend days: 01-04, 02-14, 02-28, 05-09, 09-20, 10-10 = 6.
    # 261 - 19 + 6 = 248.
    assert CAL.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 248


# ---------------------------------------------------------------------------------------
# Working days: adding
# ---------------------------------------------------------------------------------------


def test_five_working_days_across_national_day():
    # 09-30 Wed (start, not counted); 10-01..10-07 off; 10-08 Thu 1, 10-09 Fri 2,
    # 10-10 Sat (make-up) 3, 10-11 Sun off, 10-12 Mon 4, 10-13 Tue 5.
    assert CAL.add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 13)


def test_one_working_day_after_friday_before_spring_festival_is_makeup_saturday():
    # 02-13 Fri (start); 02-14 Sat is a make-up working day.
    assert CAL.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)


def test_two_working_days_jump_the_spring_festival():
    # 02-14 Sat 1; 02-15..02-23 off; 02-24 Tue 2.
    assert CAL.add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)


def test_one_working_day_after_last_friday_of_february_is_makeup_saturday():
    # 02-27 Fri (start); 02-28 Sat make-up.
    assert CAL.add_working_days(D(2026, 2, 27), 1) == D(2026, 2, 28)


def test_one_working_day_after_friday_before_sept_20_is_makeup_sunday():
    # 09-18 Fri (start); 09-19 Sat off; 09-20 Sun make-up.
    assert CAL.add_working_days(D(2026, 9, 18), 1) == D(2026, 9, 20)


def test_mid_autumn_friday_is_skipped():
    # 09-24 Thu (start); 09-25 Fri Mid-Autumn off; 09-26 Sat, 09-27 Sun off; 09-28 Mon 1.
    assert CAL.add_working_days(D(2026, 9, 24), 1) == D(2026, 9, 28)


def test_start_on_a_holiday_counts_from_the_next_working_day():
    # 10-03 Sat, inside the holiday; 10-08 Thu is the first working day after it.
    assert CAL.add_working_days(D(2026, 10, 3), 1) == D(2026, 10, 8)


@pytest.mark.parametrize(
    "start, n, due",
    [
        # 12-26 Fri (start); 12-27, 12-28 weekend; 12-29 Mon 1, 12-30 Tue 2, 12-31 Wed 3.
        (D(2025, 12, 26), 3, D(2025, 12, 31)),
        # ... then 01-01 Thu, 01-02 Fri, 01-03 Sat off; 01-04 Sun (make-up) 4.
        (D(2025, 12, 26), 4, D(2026, 1, 4)),
        # ... 01-05 Mon 5.
        (D(2025, 12, 26), 5, D(2026, 1, 5)),
        (D(2025, 12, 31), 1, D(2026, 1, 4)),
        (D(2025, 12, 31), 2, D(2026, 1, 5)),
    ],
)
def test_working_days_across_the_2025_2026_year_end(start, n, due):
    assert CAL.add_working_days(start, n) == due


def test_zero_working_days_is_the_start_day():
    assert CAL.add_working_days(D(2026, 3, 9), 0) == D(2026, 3, 9)


def test_zero_working_days_from_a_holiday_is_that_holiday():
    # n = 0 does not move, even off a non-working day.
    assert CAL.add_working_days(D(2026, 10, 1), 0) == D(2026, 10, 1)


def test_negative_working_days_raise():
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_days(D(2026, 3, 9), -1)


# ---------------------------------------------------------------------------------------
# Working days: counting
# ---------------------------------------------------------------------------------------


def test_working_days_between_across_national_day():
    assert CAL.working_days_between(D(2026, 9, 30), D(2026, 10, 13)) == 5


def test_working_days_between_inside_a_holiday_is_zero():
    assert CAL.working_days_between(D(2026, 9, 30), D(2026, 10, 7)) == 0


def test_working_days_between_counts_end_but_not_start():
    # 03-09 Mon .. 03-13 Fri: 03-10, 03-11, 03-12, 03-13.
    assert CAL.working_days_between(D(2026, 3, 9), D(2026, 3, 13)) == 4


def test_working_days_between_same_day_is_zero():
    assert CAL.working_days_between(D(2026, 3, 9), D(2026, 3, 9)) == 0


def test_working_days_between_reversed_is_zero():
    assert CAL.working_days_between(D(2026, 10, 13), D(2026, 9, 30)) == 0


def test_working_days_between_across_year_end():
    # 2026-01-04 (Sun, make-up) and 2026-01-05 (Mon).
    assert CAL.working_days_between(D(2025, 12, 31), D(2026, 1, 5)) == 2


# ---------------------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------------------


def test_override_holiday_turns_a_working_day_off_and_shifts_deadline():
    cal = WorkingCalendar(2026, 2026, {D(2026, 10, 8): "holiday"})
    assert not cal.is_working_day(D(2026, 10, 8))
    assert cal.describe(D(2026, 10, 8)).source == "override"
    # 10-09 Fri 1, 10-10 Sat 2, 10-12 Mon 3, 10-13 Tue 4, 10-14 Wed 5.
    assert cal.add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 14)


def test_override_workday_turns_a_sunday_on_and_shifts_deadline():
    cal = WorkingCalendar(2026, 2026, {D(2026, 10, 11): "workday"})
    assert cal.is_working_day(D(2026, 10, 11))
    # 10-08 Thu 1, 10-09 Fri 2, 10-10 Sat 3, 10-11 Sun 4, 10-12 Mon 5.
    assert cal.add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 12)


def test_override_beats_holiday_data_both_ways():
    cal = WorkingCalendar(2026, 2026, {D(2026, 2, 14): "holiday", D(2026, 10, 5): "workday"})
    assert not cal.is_working_day(D(2026, 2, 14))  # make-up Saturday cancelled
    assert cal.is_working_day(D(2026, 10, 5))  # statutory holiday worked
    # 02-14 now off, 02-15..02-23 off: the first working day is 02-24 Tue.
    assert cal.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 24)
    # 10-01..10-04 off, 10-05 Mon now on.
    assert cal.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 5)


def test_overrides_do_not_affect_other_calendars():
    WorkingCalendar(2026, 2026, {D(2026, 3, 9): "holiday"})
    assert WorkingCalendar(2026, 2026).is_working_day(D(2026, 3, 9))


# ---------------------------------------------------------------------------------------
# Years without holiday data
# ---------------------------------------------------------------------------------------


def test_year_without_data_is_uncovered():
    assert WorkingCalendar(2028, 2028).uncovered == frozenset({2028})


def test_years_with_data_are_covered():
    assert CAL.uncovered == frozenset()


def test_only_years_without_data_are_uncovered():
    assert WorkingCalendar(2026, 2028).uncovered == frozenset({2027, 2028})


def test_year_with_overrides_counts_as_covered():
    cal = WorkingCalendar(2028, 2028, {D(2028, 10, 2): "holiday"})
    assert cal.uncovered == frozenset()
    assert not cal.is_working_day(D(2028, 10, 2))


def test_uncovered_year_counts_weekends_only():
    cal = WorkingCalendar(2028, 2028)
    assert not cal.is_working_day(D(2028, 1, 1))  # Saturday (New Year's Day)
    assert cal.is_working_day(D(2028, 10, 2))  # Monday, a National Day holiday in reality
    assert cal.describe(D(2028, 10, 2)).source == "weekends-only (no data)"
    # 09-29 Fri (start); 09-30 Sat, 10-01 Sun off; 10-02 Mon 1.
    assert cal.add_working_days(D(2028, 9, 29), 1) == D(2028, 10, 2)


def test_uncovered_year_has_all_weekdays_as_working_days():
    # 2028 is a leap year starting on Saturday: 366 days = 52 weeks + Sat + Sun -> 260 weekdays.
    cal = WorkingCalendar(2028, 2028)
    assert cal.working_days_between(D(2028, 1, 1), D(2028, 12, 31)) == 260


def test_deadline_into_uncovered_year_is_computed_and_logged(monkeypatch, caplog):
    monkeypatch.setattr(working_calendar, "_warned_years", set())
    cal = WorkingCalendar(2026, 2027)
    with caplog.at_level(logging.WARNING, logger="app.services.calendar"):
        # 2026-12-31 Thu (start); 2027-01-01 Fri counts (no data); 01-02, 01-03 weekend; 01-04 Mon 2.
        assert cal.add_working_days(D(2026, 12, 31), 2) == D(2027, 1, 4)
    assert any("2027" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------------------
# Span
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [D(2023, 12, 31), D(2027, 1, 1)])
def test_start_outside_span_raises(day):
    with pytest.raises(ValueError, match="outside"):
        CAL.add_working_days(day, 1)


@pytest.mark.parametrize("day", [D(2023, 12, 31), D(2027, 1, 1)])
def test_is_working_day_outside_span_raises(day):
    with pytest.raises(ValueError, match="outside"):
        CAL.is_working_day(day)


def test_deadline_running_past_span_raises():
    # After 2026-12-30 Wed only 12-31 Thu is left in the span.
    with pytest.raises(ValueError, match="past 2026"):
        CAL.add_working_days(D(2026, 12, 30), 2)


def test_last_working_day_of_span_is_reachable():
    assert CAL.add_working_days(D(2026, 12, 30), 1) == D(2026, 12, 31)


def test_working_days_between_outside_span_raises():
    cal = WorkingCalendar(2026, 2026)
    with pytest.raises(ValueError):
        cal.working_days_between(D(2026, 12, 30), D(2027, 1, 5))  # currently returns 1


# ---------------------------------------------------------------------------------------
# Working-day properties
# ---------------------------------------------------------------------------------------

start_days = st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 10, 31))
counts = st.integers(min_value=0, max_value=30)


@PROPERTY
@given(start_days, counts)
def test_deadline_is_a_working_day_n_working_days_later(start, n):
    due = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, due) == n
    if n > 0:
        assert due > start
        assert CAL.is_working_day(due)
        # Minimal: the day before the deadline is one working day short.
        assert CAL.working_days_between(start, due - timedelta(1)) == n - 1
    else:
        assert due == start


@PROPERTY
@given(start_days, counts)
def test_deadline_is_strictly_monotonic_in_n(start, n):
    assert CAL.add_working_days(start, n) < CAL.add_working_days(start, n + 1)


@PROPERTY
@given(st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 12, 31)))
def test_is_working_day_agrees_with_describe(day):
    assert CAL.is_working_day(day) == CAL.describe(day).working


# ---------------------------------------------------------------------------------------
# Calendar periods (Civil Code)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, length, unit, end",
    [
        (D(2025, 1, 31), 1, "m", D(2025, 2, 28)),  # no 31 Feb: last day of February
        (D(2024, 1, 31), 1, "m", D(2024, 2, 29)),  # leap year
        (D(2024, 2, 29), 1, "y", D(2025, 2, 28)),  # no 29 Feb in 2025
        (D(2024, 2, 29), 4, "y", D(2028, 2, 29)),  # 2028 is a leap year
        (D(2025, 3, 31), 3, "m", D(2025, 6, 30)),  # June has 30 days
        (D(2025, 1, 31), 2, "m", D(2025, 3, 31)),  # counted from the start, not month by month
        (D(2025, 1, 15), 1, "m", D(2025, 2, 15)),  # corresponding day
        (D(2025, 12, 31), 2, "m", D(2026, 2, 28)),  # across the year end
        (D(2025, 6, 30), 1, "y", D(2026, 6, 30)),
    ],
)
def test_month_and_year_periods_end_on_corresponding_or_last_day(start, length, unit, end):
    assert add_period(start, length, unit) == end


@pytest.mark.parametrize(
    "start, length, end",
    [
        (D(2025, 1, 1), 10, D(2025, 1, 11)),  # start day not counted: 01-02 .. 01-11
        (D(2024, 12, 31), 1, D(2025, 1, 1)),
        (D(2024, 2, 28), 1, D(2024, 2, 29)),
        (D(2025, 2, 28), 1, D(2025, 3, 1)),
        (D(2025, 3, 9), 0, D(2025, 3, 9)),
    ],
)
def test_day_periods_count_calendar_days_after_start(start, length, end):
    assert add_period(start, length, "d") == end


def test_add_period_with_unknown_unit_raises():
    with pytest.raises(InvalidPeriod):
        add_period(D(2025, 1, 1), 1, "w")


@pytest.mark.parametrize(
    "spec, parsed",
    [("3m", (3, "m")), ("1y", (1, "y")), ("20d", (20, "d")), (" 12 y ", (12, "y")), ("0d", (0, "d"))],
)
def test_parse_period(spec, parsed):
    assert parse_period(spec) == parsed


@pytest.mark.parametrize("spec", ["3x", "", "m3", None, "-3m", "3", "3 months", "1.5y", "12345d"])
def test_parse_period_rejects_malformed_spec(spec):
    with pytest.raises(InvalidPeriod, match="not a period"):
        parse_period(spec)


def test_invalid_period_is_a_value_error():
    with pytest.raises(ValueError):
        parse_period("3x")


def test_end_of_period_parses_and_adds():
    assert end_of_period(D(2025, 1, 31), "1m") == D(2025, 2, 28)
    assert end_of_period(D(2024, 2, 29), " 1 y") == D(2025, 2, 28)
    assert end_of_period(D(2025, 1, 1), "10d") == D(2025, 1, 11)


@PROPERTY
@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31)), st.integers(0, 120))
def test_month_period_ends_on_corresponding_day_or_month_end(start, months):
    end = add_period(start, months, "m")
    index = start.year * 12 + start.month - 1 + months
    assert (end.year, end.month) == (index // 12, index % 12 + 1)
    last = stdlib_calendar.monthrange(end.year, end.month)[1]
    assert end.day == min(start.day, last)
