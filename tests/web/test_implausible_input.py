"""Bad input on every path gets a clear Chinese message and a 4xx: a decision dated before
1990-01-01 (``EARLIEST_DECISION_DATE``) on the form, the CSV import and the API; a title or a
statement of spaces only on the application form; text fields of spaces only on the record form."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.models import CreditRecord
from app.models.enums import Role
from app.services.accounts.api_keys import create_key
from app.services.records.imports import import_records
from tests.factories import make_department, make_user
from tests.service.test_imports import HEADER, _csv, _row
from tests.web.helpers import sign_in, text
from tests.web.test_api import _record
from tests.web.test_dept_records import _form

EARLY = "决定日期早于合理范围"


def _count(db):
    return db.session.scalar(select(func.count()).select_from(CreditRecord))


def test_the_record_form_refuses_an_implausible_date_and_spaces_only(client, db, frozen):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    for fields, message in (
        ({"decision_date": "1900-01-01"}, EARLY),
        ({"facts": "   "}, "不能只填空格"),
        ({"sanction": " \u3000 "}, "不能只填空格"),
        ({"decision_number": "  "}, "不能只填空格"),
    ):
        response = _form(client, **fields)
        assert response.status_code == 422, fields
        assert message in text(response), fields
    assert _count(db) == 0
    assert _form(client, decision_date="1990-01-01", decision_number="沪录罚〔1990〕1号").status_code == 302


def test_the_import_refuses_an_implausible_date_and_a_blank_required_field(db, tmp_path, frozen):
    report = import_records(_csv(tmp_path, [_row(1, decision_date="1900-01-01"), _row(2, facts="   ")]),
                            make_department())
    assert not report.ok and _count(db) == 0
    assert {(row, column) for row, column, _ in report.errors} == {(2, "decision_date"), (3, "facts")}
    assert any(EARLY in message for _r, _c, message in report.errors)


def test_the_api_refuses_an_implausible_date(client, db, frozen):
    department = make_department()
    make_user(Role.DEPARTMENT, department=department)
    _k, token = create_key(department, "tests")
    response = client.post("/api/v1/records", headers={"Authorization": f"Bearer {token}"},
                           json={"records": [_record(1, decision_date="1900-01-01")]})
    assert response.status_code == 422
    assert {(e["index"], e["field"]) for e in response.json["errors"]} == {(0, "decision_date")}
    assert _count(db) == 0


def test_a_blocking_measure_comes_in_by_import_and_by_api(client, db, tmp_path, frozen):
    path = _csv(tmp_path, [[*_row(1), "2027-06-30"], [*_row(2), "2027-13-01"]], header=[*HEADER, "measure_until"])
    report = import_records(path, make_department())
    assert {(row, column) for row, column, _ in report.errors} == {(3, "measure_until")}
    department = make_department()
    make_user(Role.DEPARTMENT, department=department)
    _k, token = create_key(department, "tests")
    response = client.post("/api/v1/records", headers={"Authorization": f"Bearer {token}"},
                           json={"records": [_record(7, measure_until="2027-06-30")]})
    assert response.status_code == 200, response.json
    record = db.session.scalar(select(CreditRecord))
    assert record.measure_until == date(2027, 6, 30)
