"""A department enters a record by hand: validated like every input path, dates from the policy."""
from __future__ import annotations

import base64
import re
from datetime import date

from sqlalchemy import select

from app.models import CreditRecord, RecordEvent
from app.models.enums import Role
from tests.factories import id_number, make_user, uscc
from tests.web.helpers import csrf_token, sign_in, text


def _form(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/dept/records/new"),
        "kind": "legal", "identifier": uscc(), "subject_name": "上海新录入有限公司",
        "category": "administrative_penalty", "severity": "general", "decision_number": "沪录罚〔2026〕1号",
        "decision_date": "2026-11-02", "facts": "未按规定公示年报", "sanction": "罚款人民币五千元",
        "sanction_kinds": ["fine"], "sector": "",
    }
    data.update(fields)
    return client.post("/dept/records/new", data=data)


def test_a_record_is_entered_with_its_dates(client, db, frozen):
    user = make_user(Role.DEPARTMENT)
    sign_in(client, user.username)
    assert _form(client).status_code == 302
    record = db.session.scalar(select(CreditRecord))
    assert record.department_id == user.department_id
    assert (record.shortest_publicity_end, record.publicity_end) == (date(2027, 2, 2), date(2027, 11, 2))
    event = db.session.scalar(select(RecordEvent).where(RecordEvent.record_id == record.id))
    assert event.trigger == "publish" and event.actor_id == user.id


def test_a_minors_record_is_withheld(client, db, frozen):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    minor = id_number(birth="20120505")
    assert _form(client, kind="natural", identifier=minor, subject_name="未成年人").status_code == 302
    record = db.session.scalar(select(CreditRecord))
    assert not record.is_public and record.withheld_reason == "minor_subject"


def test_bad_input_is_refused_clearly_and_nothing_is_stored(client, db, frozen):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    for fields, message in (
        ({"identifier": "91350100M000100Y44"}, "校验"),
        ({"decision_date": "2026-02-30"}, ""),
        ({"decision_date": "2027-01-01"}, "未来"),
        ({"severity": "catastrophic"}, ""),
    ):
        response = _form(client, **fields)
        assert response.status_code == 422, fields
        assert message in text(response)
    assert db.session.scalar(select(CreditRecord)) is None


def test_the_same_decision_number_twice_is_refused(client, db, frozen):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    assert _form(client).status_code == 302
    again = _form(client, identifier=uscc())
    assert again.status_code == 422 and "文书号" in text(again)


def test_the_import_page_imports_or_reports(client, db, frozen):
    from io import BytesIO

    sign_in(client, make_user(Role.DEPARTMENT).username)
    header = "identifier,subject_name,category,severity,decision_number,decision_date,facts,sanction\n"
    good = header + f"{uscc()},页面导入公司,行政处罚信息,一般,沪页罚1号,2026-06-01,事实,罚款\n"
    response = client.post("/dept/records/import", data={
        "csrf_token": csrf_token(client, "/dept/records/import"),
        "file": (BytesIO(good.encode()), "records.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302
    bad = header + "91350100M000100Y44,坏行公司,行政处罚信息,一般,沪页罚2号,2026-06-01,事实,罚款\n"
    page = client.post("/dept/records/import", data={
        "csrf_token": csrf_token(client, "/dept/records/import"),
        "file": (BytesIO(bad.encode()), "records.csv")}, content_type="multipart/form-data")
    assert page.status_code == 422 and "校验" in text(page)
    saved = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)" download="import-errors.csv"', text(page))
    assert "统一社会信用代码" in base64.b64decode(saved.group(1)).decode("utf-8-sig")  # the report, to save
    report = client.post("/dept/records/import", data={
        "csrf_token": csrf_token(client, "/dept/records/import"), "report": "y",
        "file": (BytesIO(bad.encode()), "records.csv")}, content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest"})  # the upload script, which saves it
    assert report.status_code == 422 and report.mimetype == "text/csv" and "统一社会信用代码" in report.get_data(as_text=True)
    without_script = client.post("/dept/records/import", data={
        "csrf_token": csrf_token(client, "/dept/records/import"), "report": "y",
        "file": (BytesIO(bad.encode()), "records.csv")}, content_type="multipart/form-data")
    # A browser shows its own error page for a file sent with a 422: the page, with the link.
    assert without_script.status_code == 422 and without_script.mimetype == "text/html"
    assert 'download="import-errors.csv"' in text(without_script)
    wrong_type = client.post("/dept/records/import", data={
        "csrf_token": csrf_token(client, "/dept/records/import"),
        "file": (BytesIO(b"x"), "records.exe")}, content_type="multipart/form-data")
    assert wrong_type.status_code == 422
    assert db.session.scalar(select(CreditRecord.decision_number)) == "沪页罚1号"


def test_a_record_provided_after_seven_working_days_is_flagged_and_the_supervisor_sees_it(client, db, frozen):
    # frozen at Wednesday 2026-11-25: decided on Nov 16 is 7 working days ago (on time),
    # decided on Nov 13 is 8 working days ago (late)
    user = make_user(Role.DEPARTMENT)
    sign_in(client, user.username)
    assert _form(client, decision_date="2026-11-16", decision_number="准时1号").status_code == 302
    assert _form(client, decision_date="2026-11-13", decision_number="迟报2号", identifier=uscc()).status_code == 302
    flags = dict(db.session.execute(select(CreditRecord.decision_number, CreditRecord.published_late)).all())
    assert flags == {"准时1号": False, "迟报2号": True}
    supervisor = make_user(Role.SUPERVISOR)
    other = type(client)(client.application)  # a second browser
    sign_in(other, supervisor.username)
    page = text(other.get("/desk/dashboard"))
    assert user.department.name in page and '<span class="tag warn">1</span>' in page
