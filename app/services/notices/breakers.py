"""Circuit breakers of the delivery hosts (the SMTP server, each webhook host), per process:
a host that keeps failing is left alone for a while instead of being tried for every notice."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta


class Breakers:
    """Consecutive delivery failures per host, in this process: after ``threshold`` of them the
    host is skipped until its cool-off ends; then one more failure opens it again at once, one
    success closes it. On the platform clock, like the notices' back-off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[int, datetime | None]] = {}

    def open_until(self, host: str, now: datetime) -> datetime | None:
        with self._lock:
            _failures, until = self._hosts.get(host, (0, None))
        return until if until is not None and until > now else None

    def failed(self, host: str, now: datetime, threshold: int, cool_off: timedelta) -> datetime | None:
        """Count a failure; returns until when the host is skipped if this failure opened its circuit."""
        with self._lock:
            failures, _until = self._hosts.get(host, (0, None))
            failures += 1
            until = now + cool_off if threshold > 0 and failures >= threshold else None
            self._hosts[host] = (failures, until)
        return until

    def succeeded(self, host: str) -> None:
        with self._lock:
            self._hosts.pop(host, None)

    def clear(self) -> None:
        with self._lock:
            self._hosts.clear()


BREAKERS = Breakers()
