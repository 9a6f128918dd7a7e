"""A clock that fires a transition when it runs out (a supplement lapses, a complaint's reopen
window closes) fires it even if the process died after the sweep marked the breach."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.models import CaseEvent, Timer
from app.models.enums import CaseKind, TimerStatus
from app.services.admin.jobs import sla_job
from app.services.cases import automatic
from tests.factories import (
    act,
    make_people,
    make_record,
    repair_uploads,
    submit,
)

MONDAY = datetime(2026, 11, 2, 10, 0)


@pytest.fixture
def people(db):
    return make_people()


def _objection_awaiting_supplement(p):
    case = submit(p["applicant"], CaseKind.OBJECTION, make_record(subject=p["subject"], department=p["department"]))
    act(case, "request_supplement", p["officer"], "请补充材料")
    return case, "supplement", "lapsed"


def _repair_awaiting_supplement(p):
    record = make_record(subject=p["subject"], department=p["department"], decision_date=date(2026, 5, 1))
    case = submit(p["applicant"], CaseKind.REPAIR, record, repair_uploads())
    act(case, "request_supplement", p["officer"], "请补充材料")
    return case, "supplement", "lapsed"


def _complaint_responded(p):
    case = submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id)
    act(case, "accept", p["officer"])
    act(case, "assign", p["officer"], assignee_id=p["officer"].id)
    act(case, "respond", p["officer"], "已答复")
    return case, "reopen_window", "closed"


CASES = [_objection_awaiting_supplement, _repair_awaiting_supplement, _complaint_responded]


def _timer(db, case, name) -> Timer:
    return db.session.scalar(select(Timer).where(Timer.case_id == case.id, Timer.clock == name))


@pytest.mark.parametrize("make_case", CASES, ids=["objection-supplement", "repair-supplement", "complaint-reopen"])
def test_a_run_that_died_after_marking_the_breach_loses_no_automatic_transition(db, people, make_case, monkeypatch):
    with clock.frozen_clock(MONDAY) as frozen:
        case, clock_name, end_state = make_case(people)
        frozen.set(datetime(2026, 12, 1, 8, 0))  # ten working days and fifteen days have passed

        def killed(*args, **kwargs):
            raise SystemExit("the host went down")  # not an Exception: nothing catches it

        # The process dies at the first automatic transition, after the sweep's commit.
        monkeypatch.setattr(automatic, "apply_transition", killed)
        with pytest.raises(SystemExit):
            sla_job()
        monkeypatch.undo()
        db.session.rollback()
        timer = _timer(db, case, clock_name)
        assert timer.status == TimerStatus.RUNNING and timer.breached_at is not None  # as the dead run left it

        frozen.set(datetime(2026, 12, 1, 8, 5))  # the next run, five minutes later
        result = sla_job()
        assert sla_job().auto_transitions == 0  # and only once
    assert result.auto_transitions == 1
    db.session.refresh(case)
    assert case.state == end_state
    last = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq.desc())).first()
    assert last.to_state == end_state and last.actor_id is None
    assert _timer(db, case, clock_name).status == TimerStatus.STOPPED


def test_a_breach_mark_left_by_an_earlier_sweep_does_not_hide_the_lapse(db, people):
    """The state a dead run leaves, written directly: the mark committed, the lapse not made."""
    with clock.frozen_clock(MONDAY) as frozen:
        case, clock_name, end_state = _objection_awaiting_supplement(people)
        frozen.set(datetime(2026, 12, 1, 8, 0))
        _timer(db, case, clock_name).breached_at = clock.now()
        db.session.commit()
        result = sla_job()
    assert result.breached == 0 and result.auto_transitions == 1
    db.session.refresh(case)
    assert case.state == end_state


def test_a_case_that_moved_after_the_read_is_left_to_the_next_run(db, people, monkeypatch):
    """The clock was read as run out, then someone touched the case before the lapse: the lapse
    is refused on the version it read (the deadline may have moved), and the next run fires it."""
    with clock.frozen_clock(MONDAY) as frozen:
        case, clock_name, end_state = _objection_awaiting_supplement(people)
        frozen.set(datetime(2026, 12, 1, 8, 0))
        real = automatic._fire_batch

        def claimed_first(due, triggers):
            act(case, "claim", people["officer"], None)  # a step that stays in the state
            return real(due, triggers)

        monkeypatch.setattr(automatic, "_fire_batch", claimed_first)
        assert sla_job().auto_transitions == 0
        monkeypatch.undo()
        db.session.refresh(case)
        assert case.state == "awaiting_supplement" and case.assignee_id == people["officer"].id
        assert sla_job().auto_transitions == 1
    db.session.refresh(case)
    assert case.state == end_state


def test_a_case_withdrawn_after_the_read_is_skipped(db, people, monkeypatch):
    with clock.frozen_clock(MONDAY) as frozen:
        case, clock_name, _end_state = _objection_awaiting_supplement(people)
        frozen.set(datetime(2026, 12, 1, 8, 0))
        real = automatic._fire_batch

        def withdrawn_first(due, triggers):
            act(case, "withdraw", people["applicant"], None)
            return real(due, triggers)

        monkeypatch.setattr(automatic, "_fire_batch", withdrawn_first)
        assert sla_job().auto_transitions == 0
        monkeypatch.undo()
        assert sla_job().auto_transitions == 0
    db.session.refresh(case)
    assert case.state == "withdrawn"


def test_a_paused_clock_past_its_old_deadline_fires_nothing(db, people):
    """Only running clocks fire: a clock that stands still is not running out, whatever the
    deadline it had (kept here on purpose, though pausing clears it)."""
    with clock.frozen_clock(MONDAY) as frozen:
        case, clock_name, _end_state = _objection_awaiting_supplement(people)
        timer = _timer(db, case, clock_name)
        timer.status, timer.paused_at, timer.remaining = TimerStatus.PAUSED, clock.now(), 3
        db.session.commit()
        frozen.set(datetime(2026, 12, 1, 8, 0))
        assert sla_job().auto_transitions == 0
    db.session.refresh(case)
    assert case.state == "awaiting_supplement"


def test_one_case_refused_in_a_batch_leaves_the_others_fired(db, people, monkeypatch):
    """Lapses go in batches of one transaction; a case that moved on meanwhile is refused in its
    own savepoint, and the rest of its batch still lapses."""
    with clock.frozen_clock(MONDAY) as frozen:
        cases = [_objection_awaiting_supplement(people)[0] for _ in range(3)]
        frozen.set(datetime(2026, 12, 1, 8, 0))
        real = automatic._fire_batch
        batches = []

        def middle_withdrawn_first(due, triggers):
            batches.append(len(due))
            act(cases[1], "withdraw", people["applicant"], None)
            return real(due, triggers)

        monkeypatch.setattr(automatic, "_fire_batch", middle_withdrawn_first)
        assert automatic.fire_breach_triggers() == 2
    assert batches == [3]  # one transaction for the three
    for case in cases:
        db.session.refresh(case)
    assert [c.state for c in cases] == ["lapsed", "withdrawn", "lapsed"]
    events = db.session.scalars(select(CaseEvent.to_state).where(CaseEvent.case_id == cases[1].id)).all()
    assert "lapsed" not in events  # the refused one's savepoint left nothing behind
