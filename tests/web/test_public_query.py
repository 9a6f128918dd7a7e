"""The public query shows what is in publicity now, with the objection mark, and nothing else."""
from __future__ import annotations

from datetime import date, datetime

from app import clock
from app.models.enums import CaseKind, RecordClass, RecordState, Role, SubjectKind
from tests.factories import act, make_record, make_subject, make_user, submit
from tests.web.helpers import csrf_token, text


def _query(client, identifier, person_name=""):
    return client.post("/query", data={"identifier": identifier, "person_name": person_name,
                                       "csrf_token": csrf_token(client, "/query")})


def test_only_records_in_publicity_are_shown(client, db, frozen):
    frozen.set(datetime(2026, 11, 25, 10, 0))
    subject = make_subject()
    shown = make_record(subject=subject, decision_date=date(2026, 6, 1), decision_number="公示中-1")
    make_record(subject=subject, decision_date=date(2026, 6, 2), decision_number="已修复-2", state=RecordState.REPAIRED)
    make_record(subject=subject, decision_date=date(2026, 6, 3), decision_number="已撤销-3", state=RecordState.REVOKED)
    make_record(subject=subject, decision_date=date(2026, 6, 4), severity=RecordClass.MINOR, decision_number="不公示-4")
    make_record(subject=subject, decision_date=date(2026, 6, 5), decision_number="期满-5",
                state=RecordState.RETIRED, retired_at=clock.now())
    page = _query(client, subject.identifier)
    assert page.status_code == 200
    html = text(page)
    assert shown.decision_number in html
    for hidden in ("已修复-2", "已撤销-3", "不公示-4", "期满-5"):
        assert hidden not in html


def test_an_objection_marks_the_record_in_public_on_receipt(client, db):
    """Issue 14: the mark at receipt (it used to come at acceptance); it goes when not accepted."""
    subject = make_subject()
    record = make_record(subject=subject)
    assert "异议处理中" not in text(_query(client, subject.identifier))
    case = submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION, record)
    assert "异议处理中" in text(_query(client, subject.identifier))
    act(case, "not_accept", make_user(Role.OFFICER), "不属于异议范围")
    assert "异议处理中" not in text(_query(client, subject.identifier))


def test_a_persons_number_is_masked(client, db):
    person = make_subject(SubjectKind.NATURAL)
    make_record(subject=person)
    html = text(_query(client, person.identifier, person.name))  # a person: name and number together (issue 12)
    results = html.split('aria-live="polite"', 1)[1]  # the form echoes what was typed; the results do not
    assert person.identifier not in results
    assert person.identifier[:6] + "********" + person.identifier[-4:] in results


def test_a_bad_identifier_gets_a_clear_422(client, db):
    page = _query(client, "91350100M000100Y44")
    assert page.status_code == 422
    assert "校验码" in text(page)


def test_an_unknown_subject_has_nothing_in_publicity(client, db):
    page = _query(client, "91350100M000100Y43")
    assert page.status_code == 200
    assert "未查询到该统一社会信用代码或企业名称对应的公示信息。" in text(page)  # issue 12: as for a company no department named
