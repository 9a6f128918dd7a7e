"""The one clock of the platform.

Every "now" and "today" in the code comes from here, so tests and simulations can move
time (``frozen_clock``) and a sweep can be run "as of" a given instant. Instants are
timezone-aware UTC; days are calendar days in the platform's zone (Asia/Shanghai).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PLATFORM_TZ = ZoneInfo("Asia/Shanghai")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved."""

    def __init__(self, at: datetime):
        self._at = _aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware(at)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


_clock: SystemClock | FrozenClock = SystemClock()


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return _clock.now()


def today() -> date:
    """Today's date in the platform's time zone."""
    return now().astimezone(PLATFORM_TZ).date()


def local(at: datetime) -> datetime:
    """An instant shown in the platform's time zone."""
    return _aware(at).astimezone(PLATFORM_TZ)


def end_of_day(day: date) -> datetime:
    """The last instant of a platform-zone day, in UTC: deadlines fall at the end of their day."""
    start_next = datetime.combine(day + timedelta(days=1), time.min, tzinfo=PLATFORM_TZ)
    return (start_next - timedelta(microseconds=1)).astimezone(UTC)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=PLATFORM_TZ).astimezone(UTC)


def use(clock: SystemClock | FrozenClock) -> None:
    global _clock
    _clock = clock


@contextmanager
def frozen_clock(at: datetime) -> Iterator[FrozenClock]:
    """Freeze time at ``at`` (naive values are read as platform time) for the block."""
    previous = _clock
    clock = FrozenClock(at)
    use(clock)
    try:
        yield clock
    finally:
        use(previous)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=PLATFORM_TZ) if at.tzinfo is None else at
