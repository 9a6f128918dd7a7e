"""The public statistics pages serve the stored snapshot (``statistics_snapshot``): one indexed
row, not the events of two years; a snapshot is computed on the spot only when none can serve."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from app import clock
from app.models import StatisticsSnapshot
from app.models.enums import CaseKind, Role
from app.services.statistics import statistics_job
from tests.factories import make_department, make_record, make_subject, make_user, submit
from tests.statements import recorded_statements

NOW = datetime(2026, 11, 20, 10, 0)


def _objections(db, department, n, start=datetime(2026, 11, 2, 9, 0)):
    with clock.frozen_clock(start) as frozen:
        for i in range(n):
            frozen.set(start + timedelta(hours=i))
            subject = make_subject()
            submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION,
                   make_record(subject=subject, department=department, decision_date=date(2026, 6, 1)))
    db.session.commit()


def _received(client) -> int:
    data = client.get("/statistics.json").get_json()
    return next(r for r in data["cases"] if r["month"] == "2026-11" and r["scope"] == "all")["objections_received"]


def test_the_pages_serve_the_stored_snapshot_without_computing_it_again(client, db):
    department = make_department(name="大局")
    _objections(db, department, 6)
    with clock.frozen_clock(NOW):
        assert _received(client) == 6  # none stored yet: computed on the spot, and stored
        assert db.session.scalar(select(func.count()).select_from(StatisticsSnapshot)) == 1
    _objections(db, department, 3, start=datetime(2026, 11, 10, 9, 0))
    with clock.frozen_clock(NOW + timedelta(minutes=5)):
        with recorded_statements() as seen:
            assert _received(client) == 6  # the snapshot's figure, not today's nine
            page = client.get("/statistics?month=2026-11")
            client.get("/statistics/cases.csv")
        assert page.status_code == 200 and "大局" in page.get_data(as_text=True)
        assert not [s for s in seen if "case_event" in s or "credit_record" in s or "timer" in s], seen
        assert len([s for s in seen if "statistics_snapshot" in s]) == 3  # one row a page
        statistics_job()  # the scheduler's run: the new figures from then on
        assert _received(client) == 9


def test_the_json_says_when_the_snapshot_was_computed(client, db):
    _objections(db, make_department(), 6)
    with clock.frozen_clock(NOW):
        statistics_job()
    with clock.frozen_clock(NOW + timedelta(minutes=7)):
        data = client.get("/statistics.json").get_json()
    snapshot = db.session.scalars(select(StatisticsSnapshot)).one()
    assert datetime.fromisoformat(data["generated_at"]) == snapshot.generated_at == clock.local(NOW)  # not the read's


def test_a_snapshot_of_another_threshold_is_computed_again_one_of_last_month_serves_until_the_job(
        app, client, db, monkeypatch):
    _objections(db, make_department(), 6)
    with clock.frozen_clock(NOW):
        statistics_job()
        monkeypatch.setitem(app.config, "STATISTICS_MIN_CELL", 10)
        data = client.get("/statistics.json").get_json()
        assert data["suppressed_below"] == 10
        november = next(r for r in data["cases"] if r["month"] == "2026-11" and r["scope"] == "all")
        assert november["objections_received"] is None  # six is under ten now: never the snapshot of five
    assert db.session.scalar(select(func.count()).select_from(StatisticsSnapshot)) == 2
    with clock.frozen_clock(datetime(2026, 12, 1, 9, 0)):
        assert client.get("/statistics.json").get_json()["months"][-1] == "2026-11"  # no page computes it
        assert db.session.scalar(select(func.count()).select_from(StatisticsSnapshot)) == 2
        statistics_job()
        assert client.get("/statistics.json").get_json()["months"][-1] == "2026-12"
