"""What a department is asked to answer, and what it may see: read from the workflows' facts
(``State.waits_for``, ``Transition.refers``), the same list on its page and in the API.

Each case left out differs from one listed in exactly one property: its state, the
department it went to, or whether an officer rather than the department handles it.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from app import clock
from app.models.enums import CaseKind, Role
from app.services.accounts.api_keys import create_key
from app.services.cases import can_view, list_cases_waiting_for_department
from tests.factories import act, make_department, make_record, make_subject, make_user, repair_uploads, submit
from tests.web.helpers import sign_in


@pytest.fixture
def world(db):
    ours, theirs = make_department(), make_department()
    subject = make_subject()
    return {
        "ours": ours,
        "theirs": theirs,
        "subject": subject,
        "applicant": make_user(Role.APPLICANT, subject=subject),
        "officer": make_user(Role.OFFICER),
        "our_user": make_user(Role.DEPARTMENT, department=ours),
    }


def _objection(w, department, *steps):
    case = submit(w["applicant"], CaseKind.OBJECTION, make_record(subject=w["subject"], department=department))
    for trigger, kw in steps:
        act(case, trigger, w["officer"] if trigger != "reply" else w["our_user"], **kw)
    return case


def _complaint(w, *steps):
    # several complaints about the department in a row: each confirmed ("submit anyway")
    case = submit(w["applicant"], CaseKind.COMPLAINT, None, department_id=w["ours"].id, confirmed=True)
    for trigger, kw in steps:
        act(case, trigger, w["officer"], **kw)
    return case


def test_the_department_is_listed_what_waits_for_its_answer_and_nothing_else(db, world):
    w = world
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):
        referred = _objection(w, w["ours"], ("accept", {}), ("refer", {}))
        elsewhere = _objection(w, w["theirs"], ("accept", {}), ("refer", {}))  # another department's
        answered = _objection(w, w["ours"], ("accept", {}), ("refer", {}),
                              ("reply", {"verification": "correct"}))  # no longer waits
        repair = submit(w["applicant"], CaseKind.REPAIR,
                        make_record(subject=w["subject"], department=w["ours"], decision_date=date(2026, 5, 1)),
                        repair_uploads())
        act(repair, "accept", w["officer"])
        act(repair, "ask_department", w["officer"])
        handed_to_us = _complaint(w, ("accept", {}), ("assign", {"department_id": w["ours"].id}))
        handed_to_officer = _complaint(w, ("accept", {}), ("assign", {"assignee_id": w["officer"].id}))

    listed = {c.id for c in list_cases_waiting_for_department(w["ours"].id)}
    assert listed == {referred.id, repair.id, handed_to_us.id}
    assert {elsewhere.id, answered.id, handed_to_officer.id}.isdisjoint(listed)
    assert referred.department_id == answered.department_id == w["ours"].id
    assert handed_to_us.department_id == handed_to_officer.department_id == w["ours"].id


def test_the_page_and_the_api_list_the_same_cases(client, db, world):
    w = world
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):
        referred = _objection(w, w["ours"], ("accept", {}), ("refer", {}))
        handed_to_us = _complaint(w, ("accept", {}), ("assign", {"department_id": w["ours"].id}))
    _key, token = create_key(w["ours"], "tests")
    listed = client.get("/api/v1/referrals", headers={"Authorization": f"Bearer {token}"}).json["referrals"]
    assert {c["number"] for c in listed} == {referred.number, handed_to_us.number}
    sign_in(client, w["our_user"].username)
    for path in ("/dept/", "/dept/referrals"):
        page = client.get(path).get_data(as_text=True)
        assert referred.number in page and handed_to_us.number in page, path


def test_a_department_sees_a_complaint_only_once_it_is_handed_to_it(db, world):
    """Issue 12: a complaint about a department that an officer handles stays between the
    complainant and the platform; handed to the department, it stays visible to it."""
    w = world
    accepted = _complaint(w, ("accept", {}))
    waiting = _complaint(w)  # not yet accepted
    refused = _complaint(w, ("not_accept", {}))
    to_officer = _complaint(w, ("accept", {}), ("assign", {"assignee_id": w["officer"].id}))
    to_us = _complaint(w, ("accept", {}), ("assign", {"department_id": w["ours"].id}))
    for case in (accepted, waiting, refused, to_officer):
        assert not can_view(w["our_user"], case), case.state
        assert case.referred_at is None
    assert can_view(w["our_user"], to_us) and to_us.referred_at is not None
    assert not can_view(make_user(Role.DEPARTMENT, department=w["theirs"]), to_us)
    act(to_us, "respond", w["our_user"], "部门答复")
    assert to_us.state == "responded" and can_view(w["our_user"], to_us)  # was referred: still sees it


def test_a_department_sees_an_objection_from_its_referral_on_and_not_before(db, world):
    w = world
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):
        case = _objection(w, w["ours"])
        assert case.department_id == w["ours"].id  # its record's department ...
        assert not can_view(w["our_user"], case)  # ... but not referred yet
        act(case, "accept", w["officer"])
        assert not can_view(w["our_user"], case)
        act(case, "refer", w["officer"])
        assert can_view(w["our_user"], case) and case.referred_at == clock.now()
        act(case, "reply", w["our_user"], "核实无误", verification="correct")
        act(case, "decide_maintain", w["officer"], "维持")
        assert can_view(w["our_user"], case)


def test_a_department_sees_a_repair_once_asked_for_its_opinion(db, world):
    w = world
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):
        repair = submit(w["applicant"], CaseKind.REPAIR,
                        make_record(subject=w["subject"], department=w["ours"], decision_date=date(2026, 5, 1)),
                        repair_uploads())
        act(repair, "accept", w["officer"])
        assert repair.state == "under_review" and not can_view(w["our_user"], repair)
        act(repair, "ask_department", w["officer"])
        assert can_view(w["our_user"], repair)
        act(repair, "give_opinion", w["our_user"], "同意修复")
        assert repair.state == "under_review" and can_view(w["our_user"], repair)
