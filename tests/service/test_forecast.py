"""The forecast says what the sweeps will do: the clock moved day by day over 30 days on a seeded
database, each day's retirements and marks are what the forecast made on the first day said."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app import clock
from app.models import CreditRecord, Timer
from app.models.enums import CaseKind, Role, TimerStatus
from app.services.forecast import forecast, step_medians
from app.services.records import retire_expired_records
from app.services.sla import sweep_sla
from tests.factories import act, make_department, make_record, make_subject, make_user, submit
from workflows import DEPARTMENT, PLATFORM

START = datetime(2026, 11, 3, 0, 30)  # a Tuesday (Monday's deadlines just past), 00:30 in the platform's zone: each day's sweep runs then
DAYS = 30


@pytest.fixture
def seeded(db):
    """Records whose publicity ends over the coming weeks at three departments, and objections
    at every step with a clock of the platform's or a department's (none that fires a lapse)."""
    rng = random.Random(17)
    departments = [make_department() for _ in range(3)]
    officer = make_user(Role.OFFICER)
    with clock.frozen_clock(START - timedelta(days=20)) as frozen:
        for _ in range(120):
            record = make_record(department=rng.choice(departments))
            record.publicity_end = START.date() + timedelta(days=rng.randint(-3, DAYS + 5))
        for n in range(40):  # submitted over the last 20 days: deadlines spread out
            frozen.set(START - timedelta(days=20) + timedelta(hours=11 * n))
            department = rng.choice(departments)
            subject = make_subject()
            applicant = make_user(Role.APPLICANT, subject=subject)
            case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department,
                                                                     decision_date=date(2026, 9, 1)))
            if n % 3:
                act(case, "accept", officer)
            if n % 3 == 2:
                act(case, "refer", officer)  # the department's verification clocks start
    db.session.commit()
    return departments


def test_thirty_days_of_sweeps_do_what_the_first_days_forecast_said(db, seeded):
    with clock.frozen_clock(START) as frozen:
        ahead = forecast(22)  # 22 working days from Tuesday 3 November: past the 30 calendar days
        assert ahead.until >= START.date() + timedelta(days=DAYS - 1)
        said = {(row.day, row.party, row.department_id): row.figures for row in ahead.rows}
        overdue_at_start = sum(ahead.overdue.values())
        seen_breaches = seen_soon = 0
        for offset in range(DAYS):
            day = START.date() + timedelta(days=offset)
            frozen.set(START + timedelta(days=offset))
            marked_before = _marks(db)
            retired = retire_expired_records(keep_ids=True)
            db.session.commit()
            sweep_sla()
            marked = _marks(db) - marked_before
            retired_by = Counter(db.session.scalars(
                select(CreditRecord.department_id).where(CreditRecord.id.in_(retired.record_ids))).all())
            expected_retired = Counter({dept: f.retiring for (d, party, dept), f in said.items()
                                        if d == day and f.retiring})
            assert retired_by == expected_retired, day
            expected_soon = Counter({(party, dept): f.due_soon for (d, party, dept), f in said.items()
                                     if d == day and f.due_soon})
            assert Counter({k[1:]: n for k, n in marked.items() if k[0] == "due_soon"}) == expected_soon, day
            seen_soon += sum(expected_soon.values())
            # A deadline of day D ends at midnight: the next day's sweep finds it breached. What was
            # already past on the first day is breached by the first sweep.
            breached = Counter({k[1:]: n for k, n in marked.items() if k[0] == "breached"})
            expected_breached = Counter({(party, dept): f.falling_due for (d, party, dept), f in said.items()
                                         if d == day - timedelta(days=1) and f.falling_due})
            if offset == 0:
                expected_breached = Counter({k: n for k, n in ahead.overdue.items() if n})
            assert breached == expected_breached, day
            seen_breaches += sum(breached.values())
    assert sum(f.retiring for f in said.values()) > 50 and seen_breaches > overdue_at_start > 0 and seen_soon > 10


def _marks(db) -> Counter:
    """Timers marked so far, by mark and by whose step it is (as the forecast names them)."""
    from app.models import Case
    from app.services.forecast.outlook import _binds

    counts: Counter = Counter()
    rows = db.session.execute(select(Case.kind, Timer.clock, Case.department_id, Timer.due_soon_at, Timer.breached_at)
                              .join(Case, Case.id == Timer.case_id)).all()
    for kind, name, department, soon, breached in rows:
        party = _binds(kind, name)
        key = (party, department if party == DEPARTMENT else None)
        if soon is not None:
            counts[("due_soon", *key)] += 1
        if breached is not None:
            counts[("breached", *key)] += 1
    return counts


def test_a_department_sees_its_records_and_its_own_steps_only(db, seeded):
    mine = seeded[0]
    with clock.frozen_clock(START):
        whole, slice_ = forecast(22), forecast(22, department_id=mine.id)
    assert slice_.rows and all(r.party == DEPARTMENT and r.department_id == mine.id for r in slice_.rows)
    assert [r for r in whole.rows if r.party == DEPARTMENT and r.department_id == mine.id] == slice_.rows
    assert any(r.party == PLATFORM for r in whole.rows)


def test_a_step_that_usually_takes_longer_than_a_clock_has_left_is_at_risk(db):
    department = make_department()
    officer = make_user(Role.OFFICER)

    def objection():
        subject = make_subject()
        return submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION,
                      make_record(subject=subject, department=department))

    with clock.frozen_clock(datetime(2026, 10, 1, 9, 0)) as frozen:
        slow = [objection() for _ in range(3)]
        frozen.set(datetime(2026, 10, 8, 9, 0))  # accepted after 7 days: the median of acceptance
        for case in slow:
            act(case, "accept", officer)
        frozen.set(datetime(2026, 11, 2, 9, 0))
        fresh = objection()  # its acceptance clock runs two working days, far less than 7 days
        medians = step_medians(clock.now())
        assert medians[("objection", "accept")] == pytest.approx(7 * 86400)
        ahead = forecast(10)
    accept_due = db.session.scalar(select(Timer.due_at).where(Timer.case_id == fresh.id, Timer.clock == "accept",
                                                             Timer.status == TimerStatus.RUNNING))
    row = next(r for r in ahead.rows if r.day == clock.local(accept_due).date() and r.party == PLATFORM)
    assert row.figures.falling_due >= 1 and row.figures.at_risk >= 1
    # The overall clock (60 days) is far from its deadline: its step is not at risk.
    overall_due = db.session.scalar(select(Timer.due_at).where(Timer.case_id == fresh.id, Timer.clock == "overall"))
    overall = [r for r in ahead.rows if r.day == clock.local(overall_due).date()]
    assert all(r.figures.at_risk == 0 for r in overall)


def test_the_forecast_writes_nothing(db, seeded):
    with clock.frozen_clock(START + timedelta(days=10)):
        before = _marks(db), db.session.scalar(select(CreditRecord.state).order_by(CreditRecord.id).limit(1))
        forecast(30)
        db.session.rollback()
        db.session.execute(update(Timer).where(Timer.id == -1).values(clock="x"))  # the session still works
        assert (_marks(db), db.session.scalar(select(CreditRecord.state).order_by(CreditRecord.id).limit(1))) == before


@pytest.mark.parametrize("days", [0, -1, 251])
def test_a_horizon_out_of_range_is_refused(db, days):
    with pytest.raises(ValueError):
        forecast(days)
