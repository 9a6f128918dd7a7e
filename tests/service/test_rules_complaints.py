"""Complaint rules of DESIGN section 9: the grounds for not accepting, the 3-year rule, and a
complaint about the handling of a case, which that case's officer may not handle."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from app.errors import Conflict, InvalidInput, NotFound
from app.models.enums import CaseKind, Role
from app.services.cases import available_actions, reason_text
from app.services.cases.guards import proposed_not_accept_grounds
from tests.factories import act, make_department, make_record, make_subject, make_user, submit
from workflows import COMPLAINT
from workflows.complaint import NOT_ACCEPT_GROUNDS, OLDER_THAN_LIMIT

NOW = datetime(2026, 11, 10, 10, 0)


@pytest.fixture
def p(db, frozen):
    frozen.set(NOW)
    department, subject = make_department(), make_subject()
    return {
        "department": department, "subject": subject,
        "applicant": make_user(Role.APPLICANT, subject=subject),
        "officer": make_user(Role.OFFICER), "other_officer": make_user(Role.OFFICER),
    }


def test_the_four_grounds_are_the_not_accept_texts():
    [not_accept] = [t for t in COMPLAINT.transitions if t.trigger == "not_accept"]
    assert not_accept.templates == NOT_ACCEPT_GROUNDS and len(NOT_ACCEPT_GROUNDS) == 4
    assert "3 years" in OLDER_THAN_LIMIT


def test_a_complaint_about_a_record_decided_more_than_3_years_ago_proposes_that_ground(p):
    old = make_record(subject=p["subject"], department=p["department"], decision_date=date(2023, 11, 9))
    last_day = make_record(subject=p["subject"], department=p["department"], decision_date=date(2023, 11, 10))
    about_old = submit(p["applicant"], CaseKind.COMPLAINT, old)
    about_recent = submit(p["applicant"], CaseKind.COMPLAINT, last_day, confirmed=True)
    assert proposed_not_accept_grounds(about_old) == [OLDER_THAN_LIMIT]
    assert proposed_not_accept_grounds(about_recent) == []  # three years end today: not older yet
    act(about_old, "not_accept", p["officer"], str(OLDER_THAN_LIMIT))
    assert proposed_not_accept_grounds(about_old) == []  # decided: nothing left to propose


def _handled_objection(p):
    record = make_record(subject=p["subject"], department=p["department"])
    objection = submit(p["applicant"], CaseKind.OBJECTION, record)
    act(objection, "claim", p["officer"], None)
    return objection


def test_a_complaint_may_name_its_own_case_and_not_another_subjects(p):
    objection = _handled_objection(p)
    complaint = submit(p["applicant"], CaseKind.COMPLAINT, None, about_case_id=objection.id)
    assert complaint.about_case_id == objection.id
    stranger = make_user(Role.APPLICANT, subject=make_subject())
    with pytest.raises(NotFound):
        submit(stranger, CaseKind.COMPLAINT, None, about_case_id=objection.id)
    with pytest.raises(InvalidInput):
        submit(p["applicant"], CaseKind.REPAIR, objection.record, about_case_id=objection.id)


def test_the_officer_of_the_case_complained_of_cannot_claim_be_assigned_or_respond(p):
    objection = _handled_objection(p)
    complaint = submit(p["applicant"], CaseKind.COMPLAINT, None, about_case_id=objection.id)
    officer, other = p["officer"], p["other_officer"]
    assert "claim" not in {t.trigger for t in available_actions(complaint, officer)}
    with pytest.raises(Conflict) as refused:
        act(complaint, "claim", officer, None)
    assert str(refused.value) == reason_text("handled_case_complained_of")
    act(complaint, "accept", other)
    with pytest.raises(InvalidInput) as refused:
        act(complaint, "assign", other, assignee_id=officer.id)
    assert str(refused.value) == reason_text("handled_case_complained_of")
    act(complaint, "assign", other, assignee_id=other.id)
    with pytest.raises(InvalidInput):
        act(complaint, "reassign", other, "换人", assignee_id=officer.id)
    act(complaint, "respond", other, "已答复")
    assert complaint.state == "responded"


def test_a_supervisor_who_handled_the_case_cannot_respond_to_the_complaint(p):
    supervisor = make_user(Role.SUPERVISOR)
    objection = _handled_objection(p)
    act(objection, "accept", supervisor)
    complaint = submit(p["applicant"], CaseKind.COMPLAINT, None, about_case_id=objection.id)
    act(complaint, "accept", p["other_officer"])
    act(complaint, "assign", p["other_officer"], assignee_id=p["other_officer"].id)
    with pytest.raises(Conflict):
        act(complaint, "respond", supervisor, "答复")


@pytest.mark.parametrize("blank", [{"title": "   "}, {"statement": " \u3000\n "}])
def test_a_title_or_statement_of_spaces_only_is_refused(p, blank):
    with pytest.raises(InvalidInput) as refused:
        submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id, **blank)
    assert "spaces" in str(refused.value) or "空格" in str(refused.value)




def test_the_reopen_deadline_is_not_shown_once_the_one_reopen_was_used(p):
    from app.services.cases import get_case_page

    complaint = submit(p["applicant"], CaseKind.COMPLAINT, None, department_id=p["department"].id)
    act(complaint, "accept", p["officer"])
    act(complaint, "assign", p["officer"], assignee_id=p["officer"].id)
    act(complaint, "respond", p["officer"], "已答复")
    shown = {t.clock for t, _left in get_case_page(p["applicant"], complaint.id).deadlines}
    assert shown == {"reopen_window"}
    act(complaint, "reopen", p["applicant"], "未解决")
    act(complaint, "respond", p["officer"], "再次答复")
    assert complaint.state == "responded"
    assert [t.clock for t, _left in get_case_page(p["applicant"], complaint.id).deadlines] == []
    assert [t.clock for t, _left in get_case_page(p["officer"], complaint.id).deadlines] == []
