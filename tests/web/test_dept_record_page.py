"""A department's record page (issue 14, item 2): the record with every version, who, when and
why; correction and revocation outside any objection, each a lifecycle event in the same
transaction; another department's record is a 404; bad input is a clear 422, never a 500."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db as _db
from app.models import Notification, RecordEvent
from app.models.enums import Role
from tests.factories import make_department, make_record, make_user
from tests.web.helpers import csrf_token, sign_in, text


def _setup():
    department = make_department()
    user = make_user(Role.DEPARTMENT, department=department, display_name="部门用户甲")
    record = make_record(department=department, decision_date=date(2026, 6, 1), sanction="罚款人民币五千元",
                         sanction_kinds=["fine"])
    return user, record


def _correct(client, record, **fields):
    data = {"csrf_token": csrf_token(client, f"/dept/records/{record.id}"), "version": str(record.version),
            "facts": record.facts, "sanction": record.sanction, "sanction_kinds": list(record.sanction_kinds),
            "severity": record.severity, "decision_date": record.decision_date.isoformat(),
            "reason": "决定书印刷错误，更正处罚金额"}
    data.update(fields)
    return client.post(f"/dept/records/{record.id}/correct", data=data)


def test_the_department_corrects_its_record_and_the_page_shows_the_versions(client, db, frozen):
    user, record = _setup()
    sign_in(client, user.username)
    page = client.get("/dept/")
    assert f"/dept/records/{record.id}" in text(page)  # the home page links to the record page
    response = _correct(client, record, sanction="罚款人民币五万元", severity="serious")
    assert response.status_code == 302
    _db.session.refresh(record)
    assert (record.state, record.sanction, record.severity, record.publicity_end) == (
        "corrected", "罚款人民币五万元", "serious", date(2029, 6, 1))
    event = _db.session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record.id, RecordEvent.trigger == "correct")).one()
    assert (event.actor_id, event.reason, event.data["source"]) == (user.id, "决定书印刷错误，更正处罚金额", "department")
    assert event.data["before"]["sanction"] == "罚款人民币五千元" and event.data["after"]["publicity_end"] == "2029-06-01"
    assert _db.session.scalars(select(Notification.template)).all() == ["record_corrected"]
    shown = text(client.get(f"/dept/records/{record.id}"))
    for words in ("罚款人民币五千元", "罚款人民币五万元", "决定书印刷错误，更正处罚金额", "部门用户甲", "已更正（"):
        assert words in shown, words


def test_nothing_changed_stale_and_bad_input_are_clear_422_or_409(client, db, frozen):
    user, record = _setup()
    sign_in(client, user.username)
    cases = (
        ({}, 422, "更正未改变任何内容"),
        ({"reason": "   "}, 422, ""),
        ({"sanction": "新内容", "decision_date": "2026-02-30"}, 422, ""),
        ({"sanction": "新内容", "decision_date": "2099-01-01"}, 422, ""),
        ({"sanction": "新内容", "sanction_kinds": ["flogging"]}, 422, ""),
        ({"sanction": "新内容", "severity": "catastrophic"}, 422, ""),
        ({"sanction": "新内容", "version": "99"}, 409, "刷新"),
    )
    for fields, status, words in cases:
        response = _correct(client, record, **fields)
        assert response.status_code == status, (fields, text(response)[:300])
        assert words in text(response)
    _db.session.refresh(record)
    assert record.state == "published" and record.version == 1


def test_the_department_revokes_its_record(client, db, frozen):
    user, record = _setup()
    sign_in(client, user.username)
    token = csrf_token(client, f"/dept/records/{record.id}")
    assert client.post(f"/dept/records/{record.id}/revoke", data={
        "csrf_token": token, "version": "1", "reason": " "}).status_code == 422
    response = client.post(f"/dept/records/{record.id}/revoke", data={
        "csrf_token": token, "version": "1", "reason": "原处罚决定已被依法撤销"})
    assert response.status_code == 302
    _db.session.refresh(record)
    assert record.state == "revoked"
    event = _db.session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record.id, RecordEvent.trigger == "revoke")).one()
    assert (event.actor_id, event.reason) == (user.id, "原处罚决定已被依法撤销")
    page = text(client.get(f"/dept/records/{record.id}"))
    assert "原处罚决定已被依法撤销" in page and f"/dept/records/{record.id}/correct" not in page


def test_another_departments_record_is_not_found(client, db, frozen):
    _user, record = _setup()
    other = make_user(Role.DEPARTMENT, department=make_department())
    sign_in(client, other.username)
    assert client.get(f"/dept/records/{record.id}").status_code == 404
    token = csrf_token(client, "/dept/records/new")
    assert client.post(f"/dept/records/{record.id}/correct", data={
        "csrf_token": token, "version": "1", "facts": "x", "sanction": "被改", "severity": "general",
        "decision_date": "2026-06-01", "reason": "越权"}).status_code == 404
    assert client.post(f"/dept/records/{record.id}/revoke", data={
        "csrf_token": token, "version": "1", "reason": "越权"}).status_code == 404
    assert client.get("/dept/records/999999").status_code == 404
    _db.session.refresh(record)
    assert record.state == "published" and record.sanction == "罚款人民币五千元"
