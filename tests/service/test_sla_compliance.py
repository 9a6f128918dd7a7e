"""SLA compliance: each deadline charged to whom it binds, overdue steps missed, cases that
ended before their step was done counted neither way (app/services/sla/compliance.py)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from app import clock
from app.models.enums import CaseKind
from app.services.admin.jobs import expire_job
from app.services.sla import sla_compliance, summarise
from tests.factories import act, make_people, make_record, submit

MONDAY = datetime(2026, 11, 2, 10, 0)  # an objection filed now: accept due Wednesday Nov 4, overall Nov 22


@pytest.fixture
def people(db):
    return make_people(name="测试局")


def _objection(p, publicity_end: date | None = None):
    record = make_record(subject=p["subject"], department=p["department"])
    if publicity_end:
        record.publicity_end = publicity_end
    return submit(p["applicant"], CaseKind.OBJECTION, record)


def _table(days: int = 30) -> dict[tuple[str, str, int | None], tuple[int, int]]:
    """(workflow, clock, department id) -> (deadlines counted, met)."""
    return {(r.workflow, r.clock, r.department_id): (r.total, r.met) for r in sla_compliance(days)}


def _steps(days: int = 30) -> dict[tuple[str, str], tuple[int, int]]:
    """(workflow, clock) -> (deadlines counted, met), whoever they are charged to."""
    return {step: (total, met) for step, total, met in summarise(sla_compliance(days), "step")}


def test_the_platforms_steps_are_the_platforms_and_the_departments_are_the_departments(db, people):
    p, department_id = people, people["department"].id
    with clock.frozen_clock(MONDAY) as frozen:
        objection = _objection(p)
        complaint = submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=department_id)  # about it
        frozen.set(datetime(2026, 11, 3, 10, 0))
        act(objection, "accept", p["officer"])
        act(complaint, "accept", p["officer"])
        frozen.set(datetime(2026, 11, 4, 10, 0))
        act(objection, "refer", p["officer"])  # verification due Nov 11, its hard limit Nov 18
        frozen.set(datetime(2026, 11, 16, 10, 0))
        act(objection, "reply", p["dept_user"], "经核查，记录无误", verification="correct")  # late on the target
        frozen.set(datetime(2026, 11, 17, 10, 0))
        act(objection, "decide_maintain", p["officer"], "维持")
        rows = _table()
    assert rows == {
        ("objection", "accept", None): (1, 1),
        ("objection", "refer", None): (1, 1),
        ("objection", "overall", None): (1, 1),
        ("complaint", "accept", None): (1, 1),  # the complaint is about the department, the step is ours
        ("objection", "verify", department_id): (1, 0),
        ("objection", "verify_limit", department_id): (1, 1),
    }
    assert {k: (t, m) for k, t, m in summarise(sla_compliance(30), "department")} == {
        None: (4, 4), department_id: (2, 1),
    }
    assert {r.department for r in sla_compliance(30) if r.department_id} == {"测试局"}


def test_a_deadline_overdue_and_still_running_is_missed(db, people):
    p = people
    with clock.frozen_clock(MONDAY) as frozen:
        case = _objection(p)
        frozen.set(datetime(2026, 11, 4, 17, 0))
        assert _steps() == {}  # due tonight: not missed yet, and not met either
        frozen.set(datetime(2026, 11, 6, 10, 0))
        assert _steps() == {("objection", "accept"): (1, 0)}  # overall (Nov 22) still runs in time
        assert _steps(days=1) == {("objection", "accept"): (1, 0)}  # whenever it came due
        frozen.set(datetime(2026, 11, 9, 10, 0))
        act(case, "accept", p["officer"])  # late: missed still, now as a step that ended
        assert _steps() == {("objection", "accept"): (1, 0)}


def test_a_case_that_ended_before_its_step_was_done_is_not_a_deadline_met(db, people):
    p = people
    with clock.frozen_clock(MONDAY) as frozen:
        withdrawn, refused, withdrawn_late = _objection(p), _objection(p), _objection(p)
        retired = _objection(p, publicity_end=date(2026, 11, 2))  # retires Nov 3, and the case closes
        frozen.set(datetime(2026, 11, 3, 9, 0))
        act(withdrawn, "withdraw", p["applicant"], None)
        frozen.set(datetime(2026, 11, 3, 10, 0))
        act(refused, "not_accept", p["officer"], "不属于受理范围")  # the acceptance step, done in time
        frozen.set(datetime(2026, 11, 3, 11, 0))
        assert expire_job().cases_closed == 1
        frozen.set(datetime(2026, 11, 9, 10, 0))
        act(withdrawn_late, "withdraw", p["applicant"], None)  # its accept deadline had passed
        rows = _steps()
    assert retired.state == "closed"
    # accept: the refusal met it, the late withdrawal had missed it; the overall deadline of none
    # of the four was put to the test.
    assert rows == {("objection", "accept"): (2, 1)}
