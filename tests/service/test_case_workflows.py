"""The three workflows driven end to end through the services, with timers, events and effects."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Case, CaseEvent, Notification, RecordEvent, Timer
from app.models.enums import CaseKind, RecordClass, RecordState, Role, TimerStatus
from app.services.cases import available_actions, repair_eligibility
from tests.factories import (
    act,
    make_people,
    make_record,
    make_user,
    repair_uploads,
    submit,
)
from workflows import CASE_WORKFLOWS

# Wednesday 2026-09-30, 10:00 in Shanghai: the National Day holidays start tomorrow.
BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 10, 0)


@pytest.fixture
def people(db):
    return make_people()


def _timers(db, case) -> dict[str, Timer]:
    rows = db.session.scalars(select(Timer).where(Timer.case_id == case.id).order_by(Timer.id)).all()
    return {t.clock: t for t in rows}


def _events(db, case) -> list[CaseEvent]:
    return db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)).all()


def _local_day(at: datetime) -> date:
    return clock.local(at).date()


def test_the_case_deadline_is_its_earliest_running_clock_at_every_step(db, people):
    """``case.due_at`` (what the queues sort by) follows the timers through a pause, a resume, a
    referral and a decision, read back from the database at each step."""
    p = people
    record = make_record(subject=p["subject"], department=p["department"], decision_date=date(2026, 6, 1))

    def earliest_running():
        db.session.expire_all()
        running = [t.due_at for t in _timers(db, case).values() if t.status == TimerStatus.RUNNING]
        return min(running) if running else None

    with clock.frozen_clock(datetime(2026, 11, 2, 10, 0)) as frozen:
        case = submit(p["applicant"], CaseKind.OBJECTION, record)
        steps = [("submitted", None)]
        assert case.due_at is not None and case.due_at == earliest_running()
        for trigger, actor, kw in (("request_supplement", p["officer"], {"reason": "请补充"}),
                                   ("supplement", p["applicant"], {}), ("accept", p["officer"], {}),
                                   ("refer", p["officer"], {}),
                                   ("reply", p["dept_user"], {"reason": "核实无误", "verification": "correct"}),
                                   ("decide_maintain", p["officer"], {"reason": "维持"})):
            frozen.set(clock.now() + timedelta(hours=20))
            reason = kw.pop("reason", None)
            act(case, trigger, actor, reason, **kw)
            steps.append((case.state, case.due_at))
            assert case.due_at == earliest_running(), trigger
    assert steps[1][1] is not None and steps[-1] == ("decided", None)


def test_objection_end_to_end_revokes_the_record(db, people):
    p = people
    record = make_record(subject=p["subject"], department=p["department"], decision_date=date(2026, 6, 1))
    with clock.frozen_clock(BEFORE_NATIONAL_DAY) as frozen:
        case = submit(p["applicant"], CaseKind.OBJECTION, record)
        assert case.number.startswith("YY-2026-")
        timers = _timers(db, case)
        # accept within 2 working days: Oct 1-7 are holidays, so Thursday Oct 8 and Friday Oct 9.
        assert _local_day(timers["accept"].due_at) == date(2026, 10, 9)
        # overall 20 calendar days from receipt
        assert _local_day(timers["overall"].due_at) == date(2026, 10, 20)
        assert case.due_at == timers["accept"].due_at

        frozen.set(datetime(2026, 10, 8, 9, 0))
        act(case, "accept", p["officer"])
        assert record.under_objection
        act(case, "refer", p["officer"])
        timers = _timers(db, case)
        assert timers["accept"].status == timers["refer"].status == TimerStatus.STOPPED
        # verify 5 wd from Oct 8: Oct 9 (Fri), 10 (make-up Saturday), 12, 13, 14
        assert _local_day(timers["verify"].due_at) == date(2026, 10, 14)

        frozen.set(datetime(2026, 10, 12, 11, 0))
        act(case, "reply", p["dept_user"], "原决定已撤销", verification="revoke")
        act(case, "decide_revoke", p["officer"], "撤销公示")
        assert case.state == "decided" and case.outcome == "revoke"
        assert case.closed_at is not None and case.due_at is None
        assert record.state == RecordState.REVOKED and not record.under_objection
        act(case, "close", p["officer"])

    assert [e.trigger for e in _events(db, case)] == [
        "submit", "accept", "refer", "reply", "decide_revoke", "close",
    ]
    assert all(t.status == TimerStatus.STOPPED for t in _timers(db, case).values())
    record_triggers = db.session.scalars(
        select(RecordEvent.trigger).where(RecordEvent.record_id == record.id).order_by(RecordEvent.seq)
    ).all()
    assert record_triggers == ["mark_objection", "clear_objection", "revoke"]
    notices = db.session.scalars(select(Notification.template)).all()
    assert "case_referred" in notices and "record_revoked" in notices


def test_objection_corrected_changes_the_record_and_keeps_it_public(db, people):
    p = people
    record = make_record(subject=p["subject"], department=p["department"])
    case = submit(p["applicant"], CaseKind.OBJECTION, record)
    act(case, "accept", p["officer"])
    act(case, "refer", p["officer"])
    act(case, "reply", p["dept_user"], "罚款金额有误", verification="corrected",
        corrections={"sanction": "罚款人民币一万元"})
    act(case, "decide_correct", p["officer"], "罚款金额更正", corrections={"sanction": "罚款人民币一万元"})
    assert record.state == RecordState.CORRECTED and record.sanction == "罚款人民币一万元"
    event = db.session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record.id, RecordEvent.trigger == "correct")
    ).one()
    assert event.data["before"] == {"sanction": "罚款"}


def test_supplement_pauses_the_clocks_and_resumes_them_where_they_stopped(db, people):
    p = people
    record = make_record(subject=p["subject"], department=p["department"])
    with clock.frozen_clock(datetime(2026, 11, 2, 10, 0)) as frozen:  # Monday
        case = submit(p["applicant"], CaseKind.OBJECTION, record)
        assert _local_day(_timers(db, case)["accept"].due_at) == date(2026, 11, 4)
        frozen.set(datetime(2026, 11, 3, 10, 0))  # Tuesday: one working day left
        act(case, "request_supplement", p["officer"], "请补充决定书复印件")
        timers = _timers(db, case)
        assert timers["accept"].status == TimerStatus.PAUSED and timers["accept"].remaining == 1
        assert timers["overall"].status == TimerStatus.PAUSED
        assert _local_day(timers["supplement"].due_at) == date(2026, 11, 17)
        assert case.due_at == timers["supplement"].due_at

        frozen.set(datetime(2026, 11, 13, 16, 0))  # Friday, ten days later
        act(case, "supplement", p["applicant"], None)
        timers = _timers(db, case)
        assert case.state == "submitted"
        assert timers["accept"].status == TimerStatus.RUNNING
        assert _local_day(timers["accept"].due_at) == date(2026, 11, 16)  # one working day after Friday
        assert timers["supplement"].status == TimerStatus.STOPPED


def test_the_pause_is_kept_on_the_timer_so_a_policy_change_does_not_lose_it(db, people):
    """A new policy version after the pause does not change the remaining days of the case."""
    from app.models import Policy

    p = people
    record = make_record(subject=p["subject"], department=p["department"])
    with clock.frozen_clock(datetime(2026, 11, 2, 10, 0)) as frozen:
        case = submit(p["applicant"], CaseKind.OBJECTION, record)
        act(case, "request_supplement", p["officer"])
        old = db.session.scalar(select(Policy).where(Policy.version == case.policy_version))
        body = {**old.body, "sla": {**old.body["sla"], "objection": {**old.body["sla"]["objection"], "accept": {"wd": 9}}}}
        db.session.add(Policy(version=99, effective_from=date(2026, 11, 3), body=body))
        db.session.flush()
        frozen.set(datetime(2026, 11, 4, 10, 0))
        act(case, "supplement", p["applicant"], None)
        assert _local_day(_timers(db, case)["accept"].due_at) == date(2026, 11, 6)  # 2 wd, not 9


def test_repair_end_to_end_takes_the_record_out_of_publicity(db, people):
    p = people
    record = make_record(subject=p["subject"], department=p["department"], decision_date=date(2026, 5, 1))
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):
        case = submit(p["applicant"], CaseKind.REPAIR, record, repair_uploads())
        assert case.number.startswith("XF-")
        act(case, "accept", p["officer"])
        act(case, "ask_department", p["officer"])
        act(case, "give_opinion", p["dept_user"], "同意修复")
        act(case, "extend", p["officer"], "情况复杂，延长一次")
        with pytest.raises(Conflict, match="already been extended|已延长"):
            act(case, "extend", p["officer"], "再延长")
        act(case, "approve", p["officer"], "符合修复条件")
    assert case.state == "approved" and record.state == RecordState.REPAIRED
    overall = _timers(db, case)["overall"]
    assert overall.status == TimerStatus.STOPPED and overall.extended == 1 and overall.length == 20
    # later found to rest on false material: revoked, and the record is published again
    act(case, "revoke_for_fraud", p["officer"], "履行证明系伪造")
    assert case.state == "revoked" and record.state == RecordState.PUBLISHED
    assert "barred_after_fraud" in repair_eligibility(record, {"obligation_proof", "credit_commitment"})


@pytest.mark.parametrize(
    ("record_kw", "uploads", "reason"),
    [
        ({"decision_date": date(2026, 10, 1)}, True, "shortest_publicity_not_over"),
        ({"sanction_kinds": ["fine", "licence_revoked"]}, True, "sanction_not_repairable"),
        ({}, False, "obligation_proof_missing"),
    ],
)
def test_repair_is_refused_at_submission_with_the_reason(db, people, record_kw, uploads, reason):
    from app.services.cases import reason_text

    p = people
    record = make_record(subject=p["subject"], department=p["department"], **{"decision_date": date(2026, 5, 1), **record_kw})
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):
        with pytest.raises(InvalidInput) as refused:
            submit(p["applicant"], CaseKind.REPAIR, record, repair_uploads() if uploads else [])
    assert reason_text(reason) in str(refused.value)
    assert db.session.scalar(select(Case).where(Case.record_id == record.id)) is None


def test_minor_records_are_repairable_once_the_obligation_is_met(db, people):
    p = people
    record = make_record(subject=p["subject"], department=p["department"], severity=RecordClass.MINOR,
                         decision_date=date(2026, 11, 9))
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):
        assert repair_eligibility(record, {"obligation_proof", "credit_commitment"}) == []


def test_complaint_end_to_end_with_one_reopen(db, people):
    p = people
    with clock.frozen_clock(datetime(2026, 11, 2, 10, 0)) as frozen:
        case = submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id)
        assert case.number.startswith("TS-") and case.record_id is None
        assert _local_day(_timers(db, case)["accept"].due_at) == date(2026, 11, 11)  # 7 wd
        act(case, "accept", p["officer"])
        act(case, "assign", p["officer"], assignee_id=p["officer"].id)
        assert _local_day(_timers(db, case)["reply"].due_at) == date(2026, 12, 2)  # 30 cd
        with pytest.raises(NotFound):
            act(case, "respond", p["dept_user"], "部门答复")  # an officer's: never put before the department
        act(case, "respond", p["officer"], "已答复")
        assert _local_day(_timers(db, case)["reopen_window"].due_at) == date(2026, 11, 17)
        act(case, "reopen", p["applicant"], "答复未解决问题")
        act(case, "respond", p["officer"], "再次答复")
        with pytest.raises(Conflict):
            act(case, "reopen", p["applicant"], "还是不满意")
        frozen.set(datetime(2026, 11, 20, 10, 0))
        act(case, "close", p["applicant"], None)
    assert case.state == "closed"


def test_a_subject_cannot_act_on_another_subjects_case(db, people):
    p = people
    record = make_record(subject=p["subject"], department=p["department"])
    case = submit(p["applicant"], CaseKind.OBJECTION, record)
    stranger = make_user(Role.APPLICANT)  # verified, for a subject of its own
    db.session.commit()  # each refusal rolls its use case back, not the stranger's binding
    with pytest.raises(NotFound):
        act(case, "withdraw", stranger)
    with pytest.raises(NotFound):
        submit(stranger, CaseKind.OBJECTION, record)  # not their record
    assert available_actions(case, stranger) == []


def test_a_department_cannot_answer_for_another(db, people):
    p = people
    record = make_record(subject=p["subject"], department=p["department"])
    case = submit(p["applicant"], CaseKind.OBJECTION, record)
    act(case, "accept", p["officer"])
    act(case, "refer", p["officer"])
    other = make_user(Role.DEPARTMENT)
    with pytest.raises(NotFound):
        act(case, "reply", other, verification="correct")


def test_reason_is_required_where_the_workflow_says(db, people):
    p = people
    case = submit(p["applicant"], CaseKind.OBJECTION, make_record(subject=p["subject"]))
    with pytest.raises(InvalidInput):
        act(case, "not_accept", p["officer"], reason="  ")
    assert case.state == "submitted"


def test_a_stale_version_gets_the_conflict_and_changes_nothing(db, people):
    from app.services.cases import Action, transition_case

    p = people
    case = submit(p["applicant"], CaseKind.OBJECTION, make_record(subject=p["subject"]))
    seen = case.version
    act(case, "accept", p["officer"])
    with pytest.raises(Conflict, match="Reload|刷新"):
        transition_case(case.id, Action("withdraw", seen, None), p["applicant"])
    assert case.state == "accepted"


ACTORS = ("applicant", "officer", "supervisor", "dept_user")


@pytest.mark.parametrize("kind", list(CASE_WORKFLOWS))
def test_every_refused_trigger_leaves_the_case_and_its_history_untouched(db, people, kind):
    """From the first state, every trigger the workflow does not allow changes nothing at all."""
    p = people
    record = make_record(subject=p["subject"], department=p["department"], decision_date=date(2025, 1, 1))
    uploads = repair_uploads() if kind == CaseKind.REPAIR else []
    case = submit(p["applicant"], kind, None if kind == CaseKind.COMPLAINT else record, uploads,
                  **({"department_id": p["department"].id} if kind == CaseKind.COMPLAINT else {}))
    workflow = CASE_WORKFLOWS[kind]
    before = (case.state, case.version, len(_events(db, case)), {t.clock: (t.status, t.due_at) for t in _timers(db, case).values()})
    for trigger in workflow.triggers:
        for who in ACTORS:
            actor = p[who]
            allowed = {t.trigger for t in available_actions(case, actor)}
            if trigger in allowed:
                continue
            with pytest.raises((Conflict, NotFound, InvalidInput)):
                act(case, trigger, actor)
            db.session.expire_all()
            after = (case.state, case.version, len(_events(db, case)), {t.clock: (t.status, t.due_at) for t in _timers(db, case).values()})
            assert after == before, (trigger, who)


def test_replay_rebuilds_every_cases_state_from_its_events(db, people):
    """Walking each case's events through its workflow lands on the state stored on the case."""
    p = people
    record = make_record(subject=p["subject"], department=p["department"], decision_date=date(2025, 1, 1))
    a = submit(p["applicant"], CaseKind.OBJECTION, record)
    act(a, "accept", p["officer"])
    act(a, "refer", p["officer"])
    act(a, "withdraw", p["applicant"])
    b = submit(p["applicant"], CaseKind.REPAIR, record, repair_uploads())
    act(b, "request_supplement", p["officer"])
    act(b, "supplement", p["applicant"], None)
    act(b, "accept", p["officer"])
    c = submit(p["applicant"], CaseKind.COMPLAINT, record)
    act(c, "not_accept", p["officer"], "超出受理范围")
    for case in db.session.scalars(select(Case)):
        workflow = CASE_WORKFLOWS[case.kind]
        state = None
        for event in _events(db, case):
            if event.trigger == "submit":
                state = workflow.initial
            else:
                taken = workflow.find(state, event.trigger)
                assert taken is not None, (case.number, state, event.trigger)
                state = taken.dest if taken.dest != "=" else state
            assert event.to_state == state
        assert state == case.state


def test_case_numbers_restart_each_year(db, people):
    p = people
    with clock.frozen_clock(datetime(2027, 1, 4, 9, 0)):
        case = submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id)
    assert case.number == "TS-2027-000001"


def test_a_deadline_in_a_year_without_holiday_data_is_computed_and_logged(db, people, caplog):
    from app.services.calendar import working as calendar

    calendar._warned_years.discard(2028)  # warned once per process: forget earlier tests
    p = people
    with clock.frozen_clock(datetime(2027, 12, 28, 10, 0)):
        case = submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id)
    # 7 wd over weekends only: Dec 29, 30, 31, Jan 3, 4, 5, 6 (2028 has no data: Jan 1 counts as a Saturday off)
    assert _local_day(_timers(db, case)["accept"].due_at) == date(2028, 1, 6)
    assert "no holiday schedule for 2028" in caplog.text




def test_a_supplement_after_its_deadline_is_refused(db, people):
    p = people
    with clock.frozen_clock(datetime(2026, 11, 2, 10, 0)) as frozen:
        case = submit(p["applicant"], CaseKind.OBJECTION, make_record(subject=p["subject"]))
        act(case, "request_supplement", p["officer"])
        frozen.set(datetime(2026, 11, 16, 23, 0))  # last of the 10 working days (Nov 3..16): still open
        assert "supplement" in {t.trigger for t in available_actions(case, p["applicant"])}
        frozen.set(datetime(2026, 11, 17, 0, 1))
        with pytest.raises(Conflict, match="passed|已过"):
            act(case, "supplement", p["applicant"], None)


def test_a_complaint_cannot_be_reopened_after_the_window(db, people):
    p = people
    with clock.frozen_clock(datetime(2026, 11, 2, 10, 0)) as frozen:
        case = submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id)
        act(case, "accept", p["officer"])
        act(case, "assign", p["officer"], department_id=p["department"].id)
        act(case, "respond", p["dept_user"], "部门答复")
        frozen.advance(timedelta(days=16))
        with pytest.raises(Conflict):
            act(case, "reopen", p["applicant"], "不满意")


def test_a_serious_dishonesty_listing_needs_the_departments_opinion_before_repair(db, people):
    from app.models.enums import RecordCategory

    p = people
    record = make_record(subject=p["subject"], department=p["department"], decision_date=date(2025, 1, 1),
                         category=RecordCategory.SERIOUS_DISHONESTY_LIST, sanction_kinds=["listing"])
    case = submit(p["applicant"], CaseKind.REPAIR, record, repair_uploads())
    act(case, "accept", p["officer"])
    assert "approve" not in {t.trigger for t in available_actions(case, p["officer"])}
    with pytest.raises(Conflict, match="opinion|意见"):
        act(case, "approve", p["officer"])
    act(case, "ask_department", p["officer"])
    act(case, "give_opinion", p["dept_user"], "同意")
    act(case, "approve", p["officer"])
    assert record.state == RecordState.REPAIRED


def test_a_department_reply_must_say_what_it_found(db, people):
    p = people
    case = submit(p["applicant"], CaseKind.OBJECTION, make_record(subject=p["subject"], department=p["department"]))
    act(case, "accept", p["officer"])
    act(case, "refer", p["officer"])
    with pytest.raises(InvalidInput):
        act(case, "reply", p["dept_user"], "已核查")
    act(case, "reply", p["dept_user"], "已核查，信息无误", verification="correct")
    event = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq.desc())).first()
    assert event.data["verification"] == "correct"
