"""``flask forecast``: the page's figures on the command line, read-only."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from app import clock
from tests.factories import make_department, make_record

NOW = datetime(2026, 11, 3, 9, 0)


def test_the_cli_prints_each_day_and_the_total(app, db):
    department = make_department(code="BUREAU-X")
    for days in (1, 1, 4):
        make_record(department=department).publicity_end = NOW.date() + timedelta(days=days)
    make_record().publicity_end = NOW.date() + timedelta(days=1)  # another department's
    db.session.commit()
    runner = app.test_cli_runner()
    with clock.frozen_clock(NOW):
        whole = runner.invoke(args=["forecast", "--days", "7"])
        mine = runner.invoke(args=["forecast", "--days", "7", "--department", "BUREAU-X", "--csv"])
        unknown = runner.invoke(args=["forecast", "--department", "NOPE"])
        too_far = runner.invoke(args=["forecast", "--days", "1000"])
    assert whole.exit_code == 0, whole.output
    lines = whole.output.splitlines()
    day_after = next(line for line in lines if line.startswith((NOW.date() + timedelta(days=2)).isoformat()))
    assert day_after.split()[1] == "3"  # retiring the day after their last day in publicity
    assert lines[-1].split()[:2] == ["total", "4"]
    assert mine.exit_code == 0
    rows = list(csv.reader(io.StringIO(mine.output.lstrip("\ufeff"))))
    assert sum(int(r[4]) for r in rows[1:]) == 3
    assert unknown.exit_code == 2 and "NOPE" in unknown.output
    assert too_far.exit_code == 2
