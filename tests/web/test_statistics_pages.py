"""The public statistics pages: no sign-in, the documented schema in CSV and JSON, suppressed
cells marked, a month that is not listed refused clearly."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

from app import clock
from app.models.enums import CaseKind, Role
from app.services.statistics import CASE_FIELDS, DEADLINE_FIELDS, SCHEMA
from tests.factories import make_department, make_record, make_subject, make_user, submit
from tests.web.helpers import text

NOW = datetime(2026, 11, 20, 10, 0)


def _objections(db, department, n):
    with clock.frozen_clock(datetime(2026, 11, 2, 9, 0)) as frozen:
        for i in range(n):
            frozen.set(datetime(2026, 11, 2, 9, 0) + timedelta(hours=i))
            subject = make_subject()
            submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION,
                   make_record(subject=subject, department=department, decision_date=date(2026, 6, 1)))
    db.session.commit()


def test_anyone_reads_the_statistics_with_small_cells_marked(client, db):
    _objections(db, make_department(name="大局"), 6)
    _objections(db, make_department(name="小局"), 2)
    with clock.frozen_clock(NOW):
        page = client.get("/statistics?month=2026-11")
    assert page.status_code == 200
    body = text(page)
    assert "异议、信用修复和投诉办理情况" in body and "大局" in body and "小局" in body
    assert "&lt;5" in page.get_data(as_text=True)  # 小局's two objections are not published


def test_the_csv_and_json_follow_the_documented_schema(client, db):
    _objections(db, make_department(code="BIG", name="大局"), 6)
    with clock.frozen_clock(NOW):
        cases = client.get("/statistics/cases.csv")
        deadlines = client.get("/statistics/deadlines.csv")
        data = client.get("/statistics.json").get_json()
    rows = list(csv.DictReader(io.StringIO(cases.get_data(as_text=True).lstrip("\ufeff"))))
    assert tuple(rows[0]) == CASE_FIELDS
    big = next(r for r in rows if r["month"] == "2026-11" and r["department_code"] == "BIG")
    assert big["objections_received"] == "6" and big["scope"] == "department"
    header = next(csv.reader(io.StringIO(deadlines.get_data(as_text=True).lstrip("\ufeff"))))
    assert tuple(header) == DEADLINE_FIELDS
    assert data["schema"] == SCHEMA and data["suppressed_below"] == 5
    assert set(data) == {"schema", "generated_at", "suppressed_below", "months", "cases", "deadlines"}
    assert all(set(row) == set(CASE_FIELDS) for row in data["cases"])
    november = next(r for r in data["cases"] if r["month"] == "2026-11" and r["scope"] == "all")
    assert november["objections_received"] == 6 and november["repairs_received"] == 0


def test_a_month_not_listed_is_a_clear_422_and_an_unknown_table_404(client, db):
    with clock.frozen_clock(NOW):
        assert client.get("/statistics?month=1999-01").status_code == 422
        assert "请选择列出的月份之一" in text(client.get("/statistics?month=garbage"))
        assert client.get("/statistics/people.csv").status_code == 404


def test_no_name_or_number_of_a_person_is_in_any_of_them(client, db):
    subject = make_subject(name="张三丰有限公司")
    department = make_department()
    with clock.frozen_clock(datetime(2026, 11, 2, 9, 0)):
        for _ in range(6):
            submit(make_user(Role.APPLICANT, subject=subject), CaseKind.COMPLAINT,
                   make_record(subject=subject, department=department))
    db.session.commit()
    with clock.frozen_clock(NOW):
        everything = "".join(client.get(path).get_data(as_text=True) for path in (
            "/statistics", "/statistics/cases.csv", "/statistics/deadlines.csv", "/statistics.json"))
    assert subject.name not in everything and subject.identifier not in everything
