"""The ``statistics`` job: each run stores a new snapshot of the report, in its documented
schema, and keeps the last few; the medians computed in the database are the exact ones."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.models import StatisticsSnapshot
from app.models.enums import CaseKind, Role
from app.services.admin.jobs import JOBS, run_job
from app.services.statistics import KEEP, SCHEMA, SnapshotResult, build_report, statistics_job
from app.services.statistics.handling import _in_database, _in_python
from tests.factories import act, make_department, make_record, make_subject, make_user, submit

NOW = datetime(2026, 11, 20, 10, 0)


def _objection(department, at):
    with clock.frozen_clock(at):
        subject = make_subject()
        return submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION,
                      make_record(subject=subject, department=department, decision_date=date(2026, 6, 1)))


def test_the_job_stores_a_new_snapshot_of_the_report(db):
    department = make_department()
    for i in range(6):
        _objection(department, datetime(2026, 11, 2, 9, 0) + timedelta(hours=i))
    db.session.commit()
    with clock.frozen_clock(NOW):
        result = statistics_job()
        expected = build_report()
    assert isinstance(result, SnapshotResult) and result.removed == 0
    snapshot = db.session.get(StatisticsSnapshot, result.snapshot_id)
    assert snapshot.schema == SCHEMA and snapshot.generated_at == clock.local(NOW)
    assert snapshot.body == {"suppressed_below": expected.threshold, "months": expected.months,
                             "cases": expected.cases, "deadlines": expected.deadlines}
    assert result.rows == len(expected.cases) + len(expected.deadlines) > 0
    with clock.frozen_clock(NOW + timedelta(minutes=10)):
        _objection(department, clock.now())
        db.session.commit()
        again = statistics_job()
    assert again.snapshot_id > result.snapshot_id
    newest = db.session.get(StatisticsSnapshot, again.snapshot_id)
    november = next(r for r in newest.body["cases"] if r["month"] == "2026-11" and r["scope"] == "all")
    assert november["objections_received"] == 7


def test_the_job_keeps_the_last_few_snapshots(db):
    with clock.frozen_clock(NOW):
        results = [statistics_job() for _ in range(KEEP + 2)]
    ids = db.session.scalars(select(StatisticsSnapshot.id).order_by(StatisticsSnapshot.id)).all()
    assert ids == [r.snapshot_id for r in results[-KEEP:]]
    assert [r.removed for r in results] == [0] * KEEP + [1, 1]


def test_the_scheduler_runs_it_as_a_job(db):
    assert JOBS["statistics"].every == timedelta(hours=1)
    with clock.frozen_clock(NOW):
        outcome = run_job("statistics")
    assert outcome.ran and outcome.error is None
    assert db.session.scalar(select(func.count()).select_from(StatisticsSnapshot)) == 1


def test_the_medians_in_the_database_are_the_exact_ones(db):
    """PostgreSQL's ``percentile_cont`` over each case's working days gives what the grouped
    pairs give in Python (SQLite's way), even counts included (the mean of the middle two)."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("the medians are computed in the database on PostgreSQL only")
    rng = random.Random(3)
    departments = [make_department() for _ in range(2)]
    officer = make_user(Role.OFFICER)
    for n in range(23):
        start = datetime(2026, 9, 1, 9, 0) + timedelta(hours=29 * n)
        case = _objection(departments[n % 2], start)
        with clock.frozen_clock(start + timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 12))):
            act(case, "not_accept", officer, "不属于受理范围")
    db.session.commit()
    with clock.frozen_clock(NOW):
        since = clock.start_of_day(date(2026, 8, 1))
        assert _in_database(since) == _in_python(since, "postgresql")
        by_department, whole = _in_database(since)
    assert sum(n for kinds in whole.values() for _, n in kinds.values()) == 23
    assert any(n % 2 == 0 for kinds in by_department.values() for _, n in kinds.values())


def test_a_case_received_outside_the_calendar_span_is_refused_not_dropped(db):
    """The calendar spans ten years back: a case received before it has no working days to
    count, and the report says so rather than leave the case out of the median."""
    officer = make_user(Role.OFFICER)
    case = _objection(make_department(), datetime(2026, 11, 2, 9, 0))
    with clock.frozen_clock(datetime(2026, 11, 5, 9, 0)):
        act(case, "not_accept", officer, "不属于受理范围")
    case.submitted_at = clock.local(datetime(2010, 3, 1, 9, 0))
    db.session.commit()
    with clock.frozen_clock(NOW), pytest.raises(ValueError, match="outside the calendar span"):
        build_report()
