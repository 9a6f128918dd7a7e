"""Calendar-day case deadlines that end on a rest day move to the next working day (民法典 art. 203).

The calendar in force for these tests: the ``holidays`` package (0.109) has no official schedule
for 2027 (no make-up working days, so ``_is_official(2027)`` is false and the year counts weekends
only); New Year's Day 2027-01-01 (a Friday) is entered as an admin override, as the platform does
each year when the State Council publishes the schedule. 2027-01-02/03 are a Saturday and Sunday.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import CalendarOverride, Timer
from app.models.enums import CaseKind, TimerStatus
from app.services.sla.timers import units_left
from tests.factories import act, make_people, submit
from tests.rulekit import policy_like

ACCEPTED = datetime(2026, 12, 2, 10, 0)  # Wednesday


@pytest.fixture
def people(db):
    return make_people()


@pytest.fixture
def new_year_2027(db):
    db.session.add(CalendarOverride(day=date(2027, 1, 1), kind="holiday", note="元旦"))
    db.session.flush()


def _reply_timer(case) -> Timer:
    return db.session.scalar(select(Timer).where(Timer.case_id == case.id, Timer.clock == "reply"))


def _accepted_complaint(people, policy=None):
    with clock.frozen_clock(ACCEPTED):
        case = submit(people["applicant"], CaseKind.COMPLAINT, None, department_id=people["department"].id)
        if policy is not None:
            case.policy_version = policy.version
            db.session.flush()
        act(case, "accept", people["officer"])
    return case


def test_a_complaint_accepted_on_2026_12_02_is_due_on_2027_01_04(db, people, new_year_2027):
    """30 calendar days from 2026-12-02 end on 2027-01-01, New Year's Day (override); 01-02/03 are a
    weekend, so the reply is due on Monday 2027-01-04."""
    timer = _reply_timer(_accepted_complaint(people))
    assert clock.local(timer.due_at).date() == date(2027, 1, 4)
    assert timer.rest_day_shift == 3


def test_with_the_switch_off_the_reply_is_due_on_new_years_day(db, people, new_year_2027):
    def off(body):
        body["sla"]["complaint"]["reply"]["shift_to_working_day"] = False

    timer = _reply_timer(_accepted_complaint(people, policy_like(off)))
    assert clock.local(timer.due_at).date() == date(2027, 1, 1)
    assert timer.rest_day_shift == 0


def test_a_pause_counts_to_the_periods_own_end_not_to_the_shift(db, people, new_year_2027):
    """Paused on 2026-12-22, the reply has 10 days left (to 01-01), not 13 (to 01-04)."""
    timer = _reply_timer(_accepted_complaint(people))
    assert units_left(timer, date(2026, 12, 22)) == 10
    assert units_left(timer, date(2027, 1, 2)) == 0


def test_a_working_day_end_is_not_moved(db, people):
    """Without the override 2027-01-01 is a plain Friday in a year without data: no shift."""
    timer = _reply_timer(_accepted_complaint(people))
    assert clock.local(timer.due_at).date() == date(2027, 1, 1)
    assert timer.rest_day_shift == 0 and timer.status == TimerStatus.RUNNING


def test_a_policy_change_moves_a_shifted_deadline_from_the_periods_own_end(db, people, new_year_2027):
    """+5 days: 2027-01-01 + 5 = Wednesday 2027-01-06, not 2027-01-04 + 5 = Saturday 01-09 shifted to 01-11;
    -5 days: 2026-12-27 is a Sunday, so Monday 2026-12-28."""
    from app.services.sla.timers import shift_deadline

    timer = _reply_timer(_accepted_complaint(people))
    shift_deadline(timer, 5, to_working_day=True)
    assert (clock.local(timer.due_at).date(), timer.rest_day_shift) == (date(2027, 1, 6), 0)
    shift_deadline(timer, -10, to_working_day=True)
    assert (clock.local(timer.due_at).date(), timer.rest_day_shift) == (date(2026, 12, 28), 1)


def test_a_resumed_reply_ends_on_the_next_working_day_again(db, people, new_year_2027):
    """Paused 10 days before its end, resumed on 2026-12-25 with 10 days left: 2027-01-04 again."""
    from app.services.sla.timers import _due_day

    timer = _reply_timer(_accepted_complaint(people))
    left = units_left(timer, date(2026, 12, 22))
    assert _due_day(timer.unit, date(2026, 12, 22), left, True) == (date(2027, 1, 4), 3)
