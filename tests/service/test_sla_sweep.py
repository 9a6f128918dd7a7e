"""The SLA sweep: due-soon reminders, breach escalations, automatic lapses; each once per deadline."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from app import clock
from app.models import CaseEvent, Notification, Timer
from app.models.enums import CaseKind, Role
from app.services.admin.jobs import sla_job
from app.services.sla import next_working_time, sweep_sla
from tests.factories import act, make_department, make_record, make_subject, make_user, submit

MONDAY = datetime(2026, 11, 2, 10, 0)  # accept deadline of an objection filed now: Wednesday Nov 4


@pytest.fixture
def setup(db):
    department = make_department()
    subject = make_subject()
    return {
        "applicant": make_user(Role.APPLICANT, subject=subject),
        "officer": make_user(Role.OFFICER),
        "supervisors": [make_user(Role.SUPERVISOR), make_user(Role.SUPERVISOR)],
        "record": make_record(subject=subject, department=department),
        "department": department,
    }


def _notices(db, template):
    return db.session.scalars(select(Notification).where(Notification.template == template)).all()


def test_due_soon_one_working_day_before_and_only_once(db, setup):
    with clock.frozen_clock(MONDAY) as frozen:
        case = submit(setup["applicant"], CaseKind.OBJECTION, setup["record"])
        assert sweep_sla().due_soon == 0  # Monday: the deadline is two working days away
        frozen.set(datetime(2026, 11, 3, 10, 0))  # Tuesday
        result = sweep_sla()
        assert result.due_soon == 1
        notices = _notices(db, "sla_due_soon")
        # unassigned: the supervisors are told
        assert {n.recipient_user_id for n in notices} == {s.id for s in setup["supervisors"]}
        assert all(n.payload["case"] == case.number for n in notices)
        assert sweep_sla().due_soon == 0
        assert len(_notices(db, "sla_due_soon")) == 2


def test_due_soon_goes_to_the_assignee_when_there_is_one(db, setup):
    with clock.frozen_clock(MONDAY) as frozen:
        case = submit(setup["applicant"], CaseKind.COMPLAINT, None, department_id=setup["department"].id)
        act(case, "accept", setup["officer"])
        act(case, "assign", setup["officer"], assignee_id=setup["officer"].id)
        frozen.set(datetime(2026, 12, 1, 10, 0))  # reply due Dec 2 (30 days from Nov 2)
        sweep_sla()
    assert [n.recipient_user_id for n in _notices(db, "sla_due_soon")] == [setup["officer"].id]


def test_breach_is_escalated_to_every_supervisor_once(db, setup):
    with clock.frozen_clock(MONDAY) as frozen:
        case = submit(setup["applicant"], CaseKind.OBJECTION, setup["record"])
        frozen.set(datetime(2026, 11, 5, 10, 0))  # Thursday: the accept deadline has passed
        result = sweep_sla()
        assert result.breached == 1 and result.escalations == 2
        timer = db.session.scalar(select(Timer).where(Timer.case_id == case.id, Timer.clock == "accept"))
        assert timer.breached_at is not None
        assert sweep_sla().escalations == 0
    assert len(_notices(db, "sla_breached")) == 2


def test_notices_wait_for_working_hours(db, setup):
    with clock.frozen_clock(MONDAY) as frozen:
        submit(setup["applicant"], CaseKind.OBJECTION, setup["record"])
        frozen.set(datetime(2026, 11, 5, 22, 30))  # Thursday night
        sweep_sla()
    held = _notices(db, "sla_breached")
    assert held and all(clock.local(n.next_attempt_at) == datetime(2026, 11, 6, 9, 0, tzinfo=clock.PLATFORM_TZ) for n in held)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 6, 10, 0), datetime(2026, 11, 6, 10, 0)),  # Friday morning: now
        (datetime(2026, 11, 6, 18, 0), datetime(2026, 11, 9, 9, 0)),  # Friday evening: Monday
        (datetime(2026, 11, 6, 7, 0), datetime(2026, 11, 6, 9, 0)),  # Friday early: at nine
        (datetime(2026, 9, 30, 20, 0), datetime(2026, 10, 8, 9, 0)),  # before National Day
        (datetime(2026, 10, 10, 8, 0), datetime(2026, 10, 10, 9, 0)),  # make-up Saturday
    ],
)
def test_next_working_time(db, now, expected):
    hours = {"start": "09:00", "end": "17:30"}
    got = next_working_time(now.replace(tzinfo=clock.PLATFORM_TZ), hours)
    assert clock.local(got) == expected.replace(tzinfo=clock.PLATFORM_TZ)


def test_an_unanswered_supplement_request_lapses(db, setup):
    with clock.frozen_clock(MONDAY) as frozen:
        case = submit(setup["applicant"], CaseKind.OBJECTION, setup["record"])
        act(case, "request_supplement", setup["officer"], "请补充材料")
        frozen.set(datetime(2026, 11, 17, 8, 0))  # ten working days have passed
        result = sla_job()
    assert result.auto_transitions == 1
    db.session.refresh(case)
    assert case.state == "lapsed" and case.closed_at is not None
    last = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq.desc())).first()
    assert last.trigger == "lapse" and last.actor_id is None
    assert not _notices(db, "sla_breached")  # a lapse is no one's failure


def test_the_sweep_catches_up_after_downtime(db, setup):
    with clock.frozen_clock(MONDAY) as frozen:
        # five records: a record takes one open objection at a time
        records = [setup["record"], *(make_record(subject=setup["record"].subject, department=setup["record"].department)
                                      for _ in range(4))]
        cases = [submit(setup["applicant"], CaseKind.OBJECTION, record) for record in records]
        frozen.set(datetime(2027, 1, 15, 10, 0))  # the sweep did not run for ten weeks
        result = sweep_sla()
        # accept and overall clocks of five cases: all past due, each counted once
        assert result.breached == 10
        assert result.due_soon == 0
        assert sweep_sla().breached == 0
    assert len(_notices(db, "sla_breached")) == 10 * 2
    assert len({n.key for n in _notices(db, "sla_breached")}) == 20
    assert all(c.state == "submitted" for c in cases)


def test_a_changed_deadline_gets_reminders_of_its_own(db, setup):
    with clock.frozen_clock(MONDAY) as frozen:
        case = submit(setup["applicant"], CaseKind.OBJECTION, setup["record"])
        frozen.set(datetime(2026, 11, 3, 10, 0))
        sweep_sla()
        act(case, "request_supplement", setup["officer"], "请补充材料")
        frozen.set(datetime(2026, 11, 9, 10, 0))
        act(case, "supplement", setup["applicant"], None)  # accept resumes: one wd left -> Nov 10
        sweep_sla()
    keys = [n.key for n in _notices(db, "sla_due_soon") if n.recipient_user_id == setup["supervisors"][0].id]
    assert len(keys) == 2 and keys[0] != keys[1]
