"""The forecast pages: the platform's for admins and supervisors, a department's slice, the CSV."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from app import clock
from app.models.enums import CaseKind, Role
from tests.factories import act, make_department, make_record, make_subject, make_user, submit
from tests.web.helpers import sign_in, text

NOW = datetime(2026, 11, 3, 9, 0)


@pytest.fixture
def two_departments(db):
    mine, theirs = make_department(name="本局"), make_department(name="他局")
    for department, n in ((mine, 3), (theirs, 5)):
        for _ in range(n):
            make_record(department=department).publicity_end = NOW.date() + timedelta(days=2)
    with clock.frozen_clock(NOW - timedelta(days=1)):
        subject = make_subject()
        case = submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION,
                      make_record(subject=subject, department=theirs))
        officer = make_user(Role.OFFICER)
        act(case, "accept", officer)
        act(case, "refer", officer)  # their verification clocks run
    db.session.commit()
    return mine, theirs


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR])
def test_admins_and_supervisors_see_every_department(client, two_departments, role):
    sign_in(client, make_user(role).username)
    with clock.frozen_clock(NOW):
        page = client.get("/admin/forecast?days=7")
    assert page.status_code == 200
    body = text(page)
    assert "本局" in body and "他局" in body and "<svg" in page.get_data(as_text=True)
    assert "将停止公示的信息" in body and "8" in body


def test_a_department_sees_only_its_slice_and_its_csv(client, two_departments):
    mine, theirs = two_departments
    sign_in(client, make_user(Role.DEPARTMENT, department=mine).username)
    with clock.frozen_clock(NOW):
        page = client.get("/dept/forecast?days=7")
        export = client.get("/dept/forecast.csv?days=7")
        assert client.get("/admin/forecast").status_code in (403, 404)
    assert page.status_code == 200 and "他局" not in text(page)
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows and {r["认定单位"] for r in rows} == {"本局"}
    assert sum(int(r["将停止公示的信息"]) for r in rows) == 3
    theirs_user = type(client)(client.application)
    sign_in(theirs_user, make_user(Role.DEPARTMENT, department=theirs).username)
    with clock.frozen_clock(NOW):
        theirs_rows = list(csv.DictReader(io.StringIO(
            theirs_user.get("/dept/forecast.csv?days=30").get_data(as_text=True).lstrip("\ufeff"))))
    assert sum(int(r["将届满的时限"]) for r in theirs_rows) >= 1  # its own verification step


@pytest.mark.parametrize("days", ["5", "x", "-7", "100000"])
def test_a_horizon_not_offered_is_a_clear_422(client, db, days):
    sign_in(client, make_user(Role.SUPERVISOR).username)
    page = client.get(f"/admin/forecast?days={days}")
    assert page.status_code == 422 and "7、30 或 90" in text(page)


def test_officers_and_applicants_do_not_see_it(client, db):
    for role in (Role.OFFICER, Role.APPLICANT):
        reader = type(client)(client.application)
        sign_in(reader, make_user(role).username)
        assert reader.get("/admin/forecast").status_code in (403, 404)
        assert reader.get("/dept/forecast").status_code in (403, 404)
