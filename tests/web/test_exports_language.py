"""Every CSV the platform hands a person is in that person's language: the headings and the coded
values (a category, a state, an admin's action), as the pages show them."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import pytest

from app import clock
from app.models.enums import CaseKind, Role
from app.services.records import retire_expired_records
from tests.factories import act, make_department, make_record, make_subject, make_user, submit
from tests.web.helpers import sign_in

CJK = re.compile(r"[\u4e00-\u9fff]")
CODES = {"administrative_penalty", "general", "objection", "accept", "submitted", "accepted", "platform", "case",
         "user.create"}


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def exports(db):
    """One of each: an objection accepted (the SLA figures, the audit trail), a run that retired
    a record (its CSV), an import refused (its report)."""
    department = make_department()
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    with clock.frozen_clock(datetime(2026, 11, 2, 9, 0)) as frozen:
        case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department))
        frozen.set(datetime(2026, 11, 3, 9, 0))
        act(case, "accept", make_user(Role.OFFICER))
    make_record(department=department, decision_date=date(2023, 1, 10), severity="general")
    run = retire_expired_records().run_id
    db.session.commit()
    return department, run


def _downloads(client, department, run, locale):
    views = {}
    for role, paths in ((Role.ADMIN, ["/admin/audit.csv"]), (Role.SUPERVISOR, ["/desk/dashboard/sla.csv?days=3660"]),
                        (Role.DEPARTMENT, [f"/dept/retired/{run}.csv", "/dept/records/import/template.csv"])):
        reader = type(client)(client.application)
        extra = {"department": department} if role == Role.DEPARTMENT else {}
        sign_in(reader, make_user(role, locale=locale, **extra).username)
        with clock.frozen_clock(datetime(2026, 11, 4, 9, 0)):
            for path in paths:
                views[path] = _rows(reader.get(path))
    return views


def test_a_chinese_reader_gets_chinese_headings_and_names_not_codes(client, exports):
    for path, rows in _downloads(client, *exports, "zh_CN").items():
        header, *body = rows
        assert all(CJK.search(cell) for cell in header), (path, header)
        cells = {cell for row in body for cell in row}
        assert not cells & CODES, (path, cells & CODES)
        if path != "/dept/records/import/template.csv":
            assert body, path


# The columns of each export that hold coded values (names of people and departments are as typed).
CODED = {"/admin/audit.csv": (1, 4, 5, 8, 9), "/desk/dashboard/sla.csv?days=3660": (0, 1, 2)}


def test_an_english_reader_gets_english_throughout(client, exports):
    department, run = exports
    coded = {**CODED, f"/dept/retired/{run}.csv": (2, 3)}
    for path, rows in _downloads(client, department, run, "en").items():
        header, *body = rows
        assert not any(CJK.search(cell) for cell in header), (path, header)
        for row in body:
            assert not any(CJK.search(row[i]) for i in coded.get(path, ()) if i < len(row)), (path, row)
            assert not set(row) & CODES, (path, row)
