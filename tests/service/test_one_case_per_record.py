"""Issue 14, items 2-4: the mark at receipt, one case where there should be one, and a record that
leaves publicity ends what depended on it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import Conflict, NotFound
from app.models import Case, CaseEvent, Notification, RecordEvent
from app.models.enums import CaseKind, RecordState, Role
from app.services.cases import (
    OpenCaseExists,
    RepeatComplaint,
    close_cases_on_retired_records,
    fire_breach_triggers,
    get_case_page,
    reason_text,
)
from tests.factories import (
    act,
    make_people,
    make_record,
    make_subject,
    make_user,
    repair_uploads,
    submit,
)
from workflows import CASES_END_REASONS


@pytest.fixture
def p(db, frozen):
    people = make_people()
    people["record"] = make_record(subject=people["subject"], department=people["department"])
    return people


def _record_triggers(db, record) -> list[str]:
    return list(db.session.scalars(
        select(RecordEvent.trigger).where(RecordEvent.record_id == record.id).order_by(RecordEvent.seq)))


def _last_event(db, case) -> CaseEvent:
    return db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq.desc())).first()


# -- the mark at receipt ------------------------------------------------------------------

def test_an_objection_marks_its_record_on_submission_and_acceptance_adds_no_second_mark(db, p):
    record = p["record"]
    assert not record.under_objection
    case = submit(p["applicant"], CaseKind.OBJECTION, record)
    db.session.refresh(record)
    assert record.under_objection and case.state == "submitted"
    mark = db.session.scalars(select(RecordEvent).where(RecordEvent.record_id == record.id)).one()
    assert mark.trigger == "mark_objection" and mark.data == {"case": case.number}
    act(case, "accept", p["officer"])
    assert _record_triggers(db, record) == ["mark_objection"]  # idempotent at acceptance


@pytest.mark.parametrize("ending", ["not_accept", "withdraw", "lapse"])
def test_the_mark_goes_when_the_objection_is_not_accepted_withdrawn_or_lapses(db, p, frozen, ending):
    record = p["record"]
    case = submit(p["applicant"], CaseKind.OBJECTION, record)
    if ending == "not_accept":
        act(case, "not_accept", p["officer"], "不属于异议范围")
    elif ending == "withdraw":
        act(case, "withdraw", p["applicant"])
    else:
        act(case, "request_supplement", p["officer"], "请补充材料")
        assert record.under_objection  # awaiting the supplement still holds the mark
        frozen.advance(timedelta(days=40))
        assert fire_breach_triggers() == 1
        db.session.refresh(case)
    db.session.refresh(record)
    assert case.state in ("not_accepted", "withdrawn", "lapsed")
    assert not record.under_objection
    assert _record_triggers(db, record) == ["mark_objection", "clear_objection"]


def test_the_mark_stays_while_another_objection_holds_it(db, p):
    """An unresolved decision keeps the record marked on purpose; a later objection on the same
    record, withdrawn, does not take that mark away."""
    record = p["record"]
    first = submit(p["applicant"], CaseKind.OBJECTION, record)
    for trigger, actor, kw in (("accept", "officer", {}), ("refer", "officer", {}),
                               ("reply", "dept_user", {"verification": "correct"})):
        act(first, trigger, p[actor], "核查", **kw)
    act(first, "decide_unresolved", p["officer"], "事实无法查清")
    second = submit(p["applicant"], CaseKind.OBJECTION, record)  # a decided objection is done: allowed
    act(second, "withdraw", p["applicant"])
    db.session.refresh(record)
    assert record.under_objection
    assert _record_triggers(db, record) == ["mark_objection"]


# -- one open objection and one open repair per record and subject -----------------------

def test_a_second_open_objection_is_refused_with_the_open_case(db, p):
    first = submit(p["applicant"], CaseKind.OBJECTION, p["record"])
    with pytest.raises(OpenCaseExists) as refused:
        submit(p["applicant"], CaseKind.OBJECTION, p["record"])
    assert (refused.value.case_id, refused.value.number) == (first.id, first.number)
    assert db.session.scalars(select(Case.id).where(Case.record_id == p["record"].id)).all() == [first.id]
    # another account of the same subject (an agent) is refused alike
    agent = make_user(Role.APPLICANT, subject=p["subject"])
    with pytest.raises(OpenCaseExists):
        submit(agent, CaseKind.OBJECTION, p["record"])
    # once the first is not open any more, a new one may be filed
    act(first, "withdraw", p["applicant"])
    assert submit(p["applicant"], CaseKind.OBJECTION, p["record"]).id != first.id


def test_a_second_open_repair_is_refused_with_the_open_case(db, p):
    first = submit(p["applicant"], CaseKind.REPAIR, p["record"], uploads=repair_uploads())
    with pytest.raises(OpenCaseExists) as refused:
        submit(p["applicant"], CaseKind.REPAIR, p["record"], uploads=repair_uploads())
    assert refused.value.case_id == first.id


def test_the_index_refuses_a_second_open_objection_when_the_service_is_bypassed(db, p):
    first = submit(p["applicant"], CaseKind.OBJECTION, p["record"])
    twin = Case(number="YY-2026-999999", kind=CaseKind.OBJECTION, state=first.state, subject_id=first.subject_id,
                record_id=first.record_id, applicant_id=first.applicant_id, policy_version=first.policy_version,
                title="t", statement="s", submitted_at=clock.now())
    with db.session.begin_nested():
        db.session.add(twin)
        with pytest.raises(IntegrityError):
            db.session.flush()
    db.session.rollback()
    # a closed one is no obstacle to the index: open is "not done" (closed_at IS NULL)
    act(first, "withdraw", p["applicant"])
    done_twin = Case(number="YY-2026-999998", kind=CaseKind.OBJECTION, state="withdrawn",
                     subject_id=first.subject_id, record_id=first.record_id, applicant_id=first.applicant_id,
                     policy_version=first.policy_version, title="t", statement="s", submitted_at=clock.now(),
                     closed_at=clock.now())
    db.session.add(done_twin)
    db.session.flush()


# -- a repeat complaint asks for confirmation ---------------------------------------------

def test_a_second_complaint_about_the_same_object_within_the_window_asks_for_confirmation(db, p, frozen):
    first = submit(p["applicant"], CaseKind.COMPLAINT, p["record"])
    frozen.advance(timedelta(minutes=5))
    with pytest.raises(RepeatComplaint) as asked:
        submit(p["applicant"], CaseKind.COMPLAINT, p["record"])
    assert asked.value.case_id == first.id
    # about another object: no question asked
    other = submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id)
    # confirmed: filed
    confirmed = submit(p["applicant"], CaseKind.COMPLAINT, p["record"], confirmed=True)
    assert len({first.id, other.id, confirmed.id}) == 3
    # after the window: filed without a question
    frozen.advance(timedelta(minutes=11))
    submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id)


# -- a record that leaves publicity ends what depended on it ------------------------------

def _notices_to(db, user, case) -> list[dict]:
    return [n for n in db.session.scalars(select(Notification.payload).where(Notification.recipient_user_id == user.id))
            if n.get("case") == case.number]


def test_a_repair_approved_with_an_objection_open_closes_the_objection_with_its_reason(db, p):
    record = p["record"]
    objection = submit(p["applicant"], CaseKind.OBJECTION, record)
    act(objection, "accept", p["officer"])
    repair = submit(p["applicant"], CaseKind.REPAIR, record, uploads=repair_uploads())
    act(repair, "accept", p["officer"])
    act(repair, "approve", p["officer"], "修复通过")
    db.session.refresh(objection)
    db.session.refresh(record)
    assert record.state == RecordState.REPAIRED and repair.state == "approved"
    assert objection.state == "closed" and objection.closed_at is not None
    event = _last_event(db, objection)
    assert event.trigger == "close_on_retirement" and event.actor_id is None
    assert "repaired" in event.reason or "修复" in event.reason
    assert event.reason != str(CASES_END_REASONS[RecordState.RETIRED])
    told = {"case": objection.number, "trigger": "close_on_retirement", "state": "closed"}
    assert any(told.items() <= payload.items() for payload in _notices_to(db, p["applicant"], objection))
    assert not record.under_objection  # the closed objection took its mark along
    assert close_cases_on_retired_records() == 0  # nothing left for the level-triggered run


def test_a_revocation_closes_an_open_repair(db, p):
    record = p["record"]
    repair = submit(p["applicant"], CaseKind.REPAIR, record, uploads=repair_uploads())
    act(repair, "accept", p["officer"])
    objection = submit(p["applicant"], CaseKind.OBJECTION, record)
    for trigger, actor, kw in (("accept", "officer", {}), ("refer", "officer", {}),
                               ("reply", "dept_user", {"verification": "revoke"})):
        act(objection, trigger, p[actor], "核查", **kw)
    act(objection, "decide_revoke", p["officer"], "撤销")
    db.session.refresh(repair)
    assert record.state == RecordState.REVOKED
    assert repair.state == "closed"
    event = _last_event(db, repair)
    assert event.trigger == "close_on_retirement" and ("revoked" in event.reason or "撤销" in event.reason)
    assert _notices_to(db, p["applicant"], repair)


def test_the_job_closes_cases_on_a_record_revoked_outside_a_case(db, p):
    """A department's own revocation happens below the cases: the level-triggered run ends them."""
    from app.services.records.lifecycle import apply_record_trigger
    from workflows import RecordTrigger

    repair = submit(p["applicant"], CaseKind.REPAIR, p["record"], uploads=repair_uploads())
    apply_record_trigger(p["record"], RecordTrigger.REVOKE, None, "部门撤销")
    db.session.commit()
    assert close_cases_on_retired_records() == 1
    db.session.refresh(repair)
    assert repair.state == "closed"


def test_the_case_page_says_why_an_action_is_not_offered(db, p):
    case = submit(p["applicant"], CaseKind.OBJECTION, p["record"])
    p["record"].state, p["record"].retired_at = RecordState.RETIRED, clock.now()  # the closing run has not come yet
    db.session.commit()
    page = get_case_page(p["officer"], case.id)
    assert "accept" not in [t.trigger for t in page.actions]
    assert ("accept", reason_text("record_not_in_publicity")) in [(t.trigger, str(why)) for t, why in page.refused]
    applicant_page = get_case_page(p["applicant"], case.id)
    assert "withdraw" in [t.trigger for t in applicant_page.actions]
    other_agent = make_user(Role.APPLICANT, subject=make_subject())
    with pytest.raises(NotFound):  # another subject does not see the case at all
        get_case_page(other_agent, case.id)


def test_a_refused_transition_on_a_closed_case_changes_nothing(db, p):
    case = submit(p["applicant"], CaseKind.OBJECTION, p["record"])
    act(case, "withdraw", p["applicant"])
    with pytest.raises(Conflict):
        act(case, "accept", p["officer"])
