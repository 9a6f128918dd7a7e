"""Corrections with content (issue 14, item 1): the department's "needs correction" reply carries
the corrected fields, the officer's "correct" decision applies them as a new version of the
record (dates recomputed under its policy), the public query shows the new content with a
"corrected" mark and its day, and the department and its webhook subscribers are told.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.errors import InvalidInput
from app.extensions import db
from app.models import CaseEvent, Notification, RecordEvent, WebhookSubscription
from app.models.enums import CaseKind, RecordClass, Role
from app.services.cases import REFUSALS
from app.services.records import find_public_records, list_correction_days
from tests.factories import act, make_department, make_record, make_subject, make_user, submit

NOW = datetime(2026, 11, 10, 10, 0)  # a Tuesday


@pytest.fixture
def w(db):
    with clock.frozen_clock(NOW) as frozen:
        department = make_department()
        subject = make_subject()
        yield type("World", (), {
            "frozen": frozen, "department": department, "subject": subject,
            "applicant": make_user(Role.APPLICANT, subject=subject),
            "officer": make_user(Role.OFFICER),
            "dept_user": make_user(Role.DEPARTMENT, department=department),
            # general, decided 2026-06-01: public to 2027-06-01, repairable after 2026-09-01
            "record": make_record(subject=subject, department=department, decision_date=date(2026, 6, 1),
                                  sanction="罚款人民币五千元", sanction_kinds=["fine"]),
        })


def _referred(w):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    act(case, "accept", w.officer)
    act(case, "refer", w.officer)
    return case


def _correct_events(record):
    return db.session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record.id, RecordEvent.trigger == "correct")).all()


def test_a_needs_correction_reply_without_new_content_is_refused(w):
    case = _referred(w)
    with pytest.raises(InvalidInput) as refused:
        act(case, "reply", w.dept_user, "处罚金额有误", verification="corrected",
            corrections={"sanction": "罚款人民币五千元"})  # the same as now
    assert str(refused.value) == str(REFUSALS["corrections_missing"])
    db.session.refresh(case)
    assert case.state == "referred"


def test_a_correct_decision_that_changes_nothing_is_refused_with_the_reason(w):
    case = _referred(w)
    act(case, "reply", w.dept_user, "经核查无误", verification="correct", corrections={"sanction": "被忽略"})
    reply = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == "reply")).one()
    assert "corrections" not in (reply.data or {})  # fields given with another finding are not kept
    with pytest.raises(InvalidInput) as refused:
        act(case, "decide_correct", w.officer, "更正")
    assert str(refused.value) == str(REFUSALS["nothing_to_correct"])
    with pytest.raises(InvalidInput):
        act(case, "decide_correct", w.officer, "更正", corrections={"facts": w.record.facts, "sanction": " "})
    db.session.refresh(case)
    db.session.refresh(w.record)
    assert case.state == "replied" and w.record.state == "published" and _correct_events(w.record) == []


def test_the_department_content_is_kept_on_the_reply_and_applied_by_the_decision(w):
    case = _referred(w)
    act(case, "reply", w.dept_user, "处罚金额有误，应为五万元", verification="corrected",
        corrections={"sanction": "罚款人民币五万元", "sanction_kinds": ["fine", "confiscation"],
                     "facts": w.record.facts})
    reply = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == "reply")).one()
    assert reply.data["corrections"] == {"sanction": "罚款人民币五万元", "sanction_kinds": ["fine", "confiscation"]}

    w.frozen.set(datetime(2026, 11, 12, 9, 0))
    act(case, "decide_correct", w.officer, "依认定单位核查结果更正")  # no fields of its own: the reply's
    record = w.record
    db.session.refresh(record)
    assert (record.state, record.sanction, record.sanction_kinds) == ("corrected", "罚款人民币五万元",
                                                                       ["fine", "confiscation"])
    assert record.publicity_end == date(2027, 6, 1)  # neither class nor decision date changed
    [event] = _correct_events(record)
    assert event.actor_id == w.officer.id and event.reason == "依认定单位核查结果更正"
    assert event.data == {"source": "objection", "case": case.number,
                          "before": {"sanction": "罚款人民币五千元", "sanction_kinds": ["fine"]},
                          "after": {"sanction": "罚款人民币五万元", "sanction_kinds": ["fine", "confiscation"]}}

    subject, shown = find_public_records(w.subject.identifier)
    assert [(r.id, r.sanction) for r in shown] == [(record.id, "罚款人民币五万元")]
    assert list_correction_days(shown) == {record.id: date(2026, 11, 12)}


def test_the_officer_fields_win_over_the_reply(w):
    case = _referred(w)
    act(case, "reply", w.dept_user, "金额有误", verification="corrected", corrections={"sanction": "罚款人民币五万元"})
    act(case, "decide_correct", w.officer, "更正", corrections={"sanction": "罚款人民币四万元"})
    db.session.refresh(w.record)
    assert w.record.sanction == "罚款人民币四万元"


def test_a_changed_class_recomputes_the_dates_under_the_records_policy(w):
    case = _referred(w)
    act(case, "reply", w.dept_user, "应为严重失信", verification="corrected",
        corrections={"severity": RecordClass.SERIOUS})
    act(case, "decide_correct", w.officer, "更正失信程度")
    record = w.record
    db.session.refresh(record)
    # serious: 1 year before repair, 3 years in publicity, from the decision on 2026-06-01
    assert (record.severity, record.shortest_publicity_end, record.publicity_end) == (
        "serious", date(2027, 6, 1), date(2029, 6, 1))
    [event] = _correct_events(record)
    assert event.data["before"] == {"severity": "general", "shortest_publicity_end": "2026-09-01",
                                    "publicity_end": "2027-06-01"}
    assert event.data["after"] == {"severity": "serious", "shortest_publicity_end": "2027-06-01",
                                   "publicity_end": "2029-06-01"}


def test_a_changed_decision_date_moves_the_dates_and_is_refused_in_the_future(w):
    case = _referred(w)
    with pytest.raises(InvalidInput):
        act(case, "reply", w.dept_user, "日期有误", verification="corrected",
            corrections={"decision_date": "2026-12-01"})
    with pytest.raises(InvalidInput):
        act(case, "reply", w.dept_user, "日期有误", verification="corrected",
            corrections={"decision_date": "2026-13-01"})
    with pytest.raises(InvalidInput):  # legacy, 3 years: publicity would have ended in 2026-10: a revocation
        act(case, "reply", w.dept_user, "日期有误", verification="corrected",
            corrections={"decision_date": "2023-10-01"})
    with pytest.raises(InvalidInput):
        act(case, "reply", w.dept_user, "种类有误", verification="corrected",
            corrections={"sanction_kinds": ["flogging"]})
    act(case, "reply", w.dept_user, "日期有误", verification="corrected", corrections={"decision_date": "2026-07-01"})
    act(case, "decide_correct", w.officer, "更正决定日期")
    db.session.refresh(w.record)
    assert (w.record.decision_date, w.record.publicity_start, w.record.publicity_end) == (
        date(2026, 7, 1), date(2026, 7, 1), date(2027, 7, 1))


def test_the_department_and_its_webhook_subscribers_are_told(w):
    db.session.add(WebhookSubscription(department_id=w.department.id, name="dept system", url="https://example.test/h",
                                       secret="s" * 32, events=["record_corrected"]))
    db.session.flush()
    case = _referred(w)
    act(case, "reply", w.dept_user, "金额有误", verification="corrected", corrections={"sanction": "罚款人民币五万元"})
    act(case, "decide_correct", w.officer, "更正")
    told = db.session.scalars(select(Notification).where(Notification.template == "record_corrected")).all()
    assert sorted((n.channel, n.recipient_department_id) for n in told) == [("inbox", w.department.id),
                                                                 ("webhook", w.department.id)]
    assert all(n.payload["record"] == w.record.decision_number and n.payload["case"] == case.number for n in told)


def test_an_api_push_with_changes_writes_the_same_correction_event(w):
    from app.services.records import push_records

    record = w.record
    item = {"identifier": w.subject.identifier, "subject_name": w.subject.name, "category": record.category,
            "severity": "serious", "decision_number": record.decision_number, "decision_date": "2026-06-01",
            "facts": record.facts, "sanction": "罚款人民币五万元", "sanction_kinds": "fine"}
    result = push_records(w.department, [item])
    assert (result.updated, result.unchanged) == (1, 0)
    assert push_records(w.department, [item]).unchanged == 1  # idempotent
    [event] = _correct_events(record)
    assert event.data["source"] == "api"
    assert event.data["before"] == {"sanction": "罚款人民币五千元", "severity": "general",
                                    "shortest_publicity_end": "2026-09-01", "publicity_end": "2027-06-01"}
    assert event.data["after"] == {"sanction": "罚款人民币五万元", "severity": "serious",
                                   "shortest_publicity_end": "2027-06-01", "publicity_end": "2029-06-01"}
    told = db.session.scalars(select(Notification.template).where(Notification.template == "record_corrected")).all()
    assert told == ["record_corrected"]
