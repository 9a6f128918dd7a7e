"""Calendar periods under the Civil Code (民法典 art. 201-202).

The start day is not counted; a period of N months or years ends on the corresponding day
of the last month, or on that month's last day where it has no such day. So 2025-01-31 plus
one month ends on 2025-02-28 and 2024-02-29 plus one year on 2025-02-28.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

PERIOD_PATTERN = re.compile(r"^\s*(\d{1,4})\s*([dmy])\s*$")


class InvalidPeriod(ValueError):
    pass


def parse_period(spec: str) -> tuple[int, str]:
    """Read "3m", "1y", "20d" into (3, "m") and so on."""
    match = PERIOD_PATTERN.match(spec or "")
    if not match:
        raise InvalidPeriod(f"not a period: {spec!r}; use a number and d, m or y, e.g. 3m")
    return int(match.group(1)), match.group(2)


def add_period(start: date, length: int, unit: str) -> date:
    """The last day of a period of ``length`` units starting the day after ``start``."""
    if unit == "d":
        return start + timedelta(days=length)
    if unit == "m":
        return start + relativedelta(months=length)  # clamps to the month's last day
    if unit == "y":
        return start + relativedelta(years=length)
    raise InvalidPeriod(f"unknown unit {unit!r}")


def end_of_period(start: date, spec: str) -> date:
    return add_period(start, *parse_period(spec))
