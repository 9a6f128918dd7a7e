"""The public statistics agree with direct counts of the cases and records, and never publish a
cell under the threshold, nor one that the month's total and the other cells would give away."""
from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.models import Case, CaseEvent, CreditRecord
from app.models.enums import CaseKind, Role
from app.services.calendar import get_working_calendar
from app.services.statistics import COUNTS, MEDIANS, build_report
from tests.factories import act, make_department, make_record, make_subject, make_user, submit

NOW = datetime(2026, 11, 20, 10, 0)
TZ_MONTH = "%Y-%m"


@pytest.fixture
def history(db):
    """Objections over September to November at three departments, most decided; repairs and
    complaints at one; some records provided late."""
    rng = random.Random(5)
    departments = [make_department(name=f"第{n}局") for n in range(3)]
    officer = make_user(Role.OFFICER)
    with clock.frozen_clock(datetime(2026, 9, 1, 9, 0)) as frozen:
        for n in range(45):
            frozen.set(datetime(2026, 9, 1, 9, 0) + timedelta(hours=41 * n))
            department = departments[0] if n % 2 else rng.choice(departments)
            subject = make_subject()
            applicant = make_user(Role.APPLICANT, subject=subject)
            record = make_record(subject=subject, department=department, decision_date=date(2026, 6, 1))
            case = submit(applicant, CaseKind.OBJECTION, record)
            if n % 5 == 4:
                continue  # waiting for acceptance
            frozen.set(clock.now() + timedelta(days=1))
            if n % 7 == 3:
                act(case, "not_accept", officer, "不属于受理范围")
                continue
            act(case, "accept", officer)
            act(case, "refer", officer)
            frozen.set(clock.now() + timedelta(days=rng.randint(1, 6)))
            act(case, "reply", make_user(Role.DEPARTMENT, department=department), "核查无误", verification="correct")
            frozen.set(clock.now() + timedelta(days=rng.randint(0, 3)))
            act(case, rng.choice(["decide_maintain", "decide_maintain", "decide_unresolved"]), officer, "依核查决定")
        for _ in range(7):
            subject = make_subject()
            submit(make_user(Role.APPLICANT, subject=subject), CaseKind.COMPLAINT,
                   make_record(subject=subject, department=departments[1]))
        late = make_record(department=departments[2], decision_date=date(2026, 9, 1))
        late.published_late = True
    db.session.commit()
    return departments


def _month(at: datetime) -> str:
    return clock.local(at).strftime(TZ_MONTH)


def test_the_counts_agree_with_direct_counts(db, history):
    with clock.frozen_clock(NOW):
        report = build_report(months=4)
    threshold = 5
    events = db.session.execute(select(CaseEvent.at, CaseEvent.trigger, Case.kind, Case.department_id)
                                .join(Case, Case.id == CaseEvent.case_id)).all()
    direct: Counter = Counter()
    for at, trigger, kind, department in events:
        name = {("objection", "submit"): "objections_received", ("objection", "accept"): "objections_accepted",
                ("objection", "not_accept"): "objections_not_accepted",
                ("objection", "decide_maintain"): "objections_decided_maintain",
                ("objection", "decide_unresolved"): "objections_decided_unresolved",
                ("complaint", "submit"): "complaints_received"}.get((kind, trigger))
        if name:
            direct[(_month(at), department, name)] += 1
            direct[(_month(at), "all", name)] += 1
    for at, department, late in db.session.execute(
            select(CreditRecord.published_at, CreditRecord.department_id, CreditRecord.published_late)):
        for scope in (department, "all"):
            direct[(_month(at), scope, "records_provided")] += 1
            direct[(_month(at), scope, "records_provided_late")] += int(late)
    by_id = {d.code: d.id for d in history}
    seen = 0
    for row in report.cases:
        scope = "all" if row["scope"] == "all" else by_id.get(row["department_code"])
        for name in COUNTS:
            value, expected = row[name], direct[(row["month"], scope, name)]
            if value is None:
                assert 0 < expected, (row, name)  # a suppressed cell is never a zero
            else:
                assert value == expected, (row["month"], row["scope"], row["department"], name)
                seen += value
    assert seen > 100
    months = {r["month"] for r in report.cases}
    assert months == {"2026-08", "2026-09", "2026-10", "2026-11"} and report.threshold == threshold


def test_no_published_cell_is_under_the_threshold_nor_given_away(db, history):
    with clock.frozen_clock(NOW):
        report = build_report(months=4)
    for row in report.cases:
        for name in COUNTS:
            assert row[name] is None or row[name] == 0 or row[name] >= report.threshold, (row, name)
    for month in {r["month"] for r in report.cases}:
        whole = next(r for r in report.cases if r["month"] == month and r["scope"] == "all")
        departments = [r for r in report.cases if r["month"] == month and r["scope"] != "all"]
        for name in COUNTS:  # one cell alone suppressed: the total must be too, or it gives it away
            assert sum(r[name] is None for r in departments) != 1 or whole[name] is None, (month, name)
    for row in report.deadlines:
        assert row["deadlines"] is None or row["deadlines"] == 0 or row["deadlines"] >= report.threshold
        if row["deadlines"] is None:
            assert row["met"] is None and row["met_share"] is None


def test_a_higher_threshold_suppresses_more(app, db, history, monkeypatch):
    with clock.frozen_clock(NOW):
        low = build_report(months=4)
        monkeypatch.setitem(app.config, "STATISTICS_MIN_CELL", 1000)
        high = build_report(months=4)
    assert any(r[n] for r in low.cases for n in COUNTS)
    assert all(r[n] in (None, 0) for r in high.cases for n in COUNTS)
    assert all(r[m] is None for r in high.cases for m in MEDIANS)


def test_the_median_handling_time_is_in_working_days_from_receipt_to_decision(db, history):
    with clock.frozen_clock(NOW):
        report = build_report(months=4)
    calendar = get_working_calendar()
    closed = db.session.execute(select(Case.submitted_at, Case.closed_at).where(
        Case.kind == CaseKind.OBJECTION, Case.closed_at.is_not(None))).all()
    by_month: dict[str, list[int]] = {}
    for submitted, ended in closed:
        by_month.setdefault(_month(ended), []).append(
            calendar.working_days_between(clock.local(submitted).date(), clock.local(ended).date()))
    checked = 0
    for row in report.cases:
        if row["scope"] == "all" and row["month"] in by_month:
            days = by_month[row["month"]]
            if len(days) >= report.threshold:
                assert row["objection_median_working_days"] == statistics.median(days)
                checked += 1
            else:
                assert row["objection_median_working_days"] is None
    assert checked >= 1


def test_the_deadlines_met_agree_with_each_timer(db, history):
    from app.models import Timer
    from app.services.sla import compliance_by_month

    with clock.frozen_clock(NOW):
        rows = compliance_by_month(clock.start_of_day(date(2026, 9, 1)))
        now = clock.now()
    accept = Counter()
    for row in rows:
        if row.workflow == "objection" and row.clock == "accept":
            accept[row.month] += row.met
    direct = Counter()
    for due, stopped in db.session.execute(select(Timer.due_at, Timer.stopped_at).join(Case).where(
            Case.kind == CaseKind.OBJECTION, Timer.clock == "accept", Timer.stopped_at.is_not(None))):
        if stopped <= due < now:
            direct[_month(due)] += 1
    assert sum(accept.values()) > 10
    assert accept == direct


def test_a_deadline_at_the_end_of_a_months_last_day_is_in_that_month(db):
    """SQLite's date functions round 23:59:59.999999 up to the next day; the month is taken of
    the whole seconds."""
    from sqlalchemy import bindparam

    from app.models.base import UTCDateTime
    from app.services.sla import local_month

    dialect = db.session.get_bind().dialect.name
    end = clock.end_of_day(date(2026, 9, 30))
    value = select(bindparam("at", end, type_=UTCDateTime()).label("at")).subquery()
    assert db.session.scalar(select(local_month(value.c.at, dialect))) == "2026-09"
