"""Supervisors see how many deadlines were met, as charts and as CSV."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from app import clock
from app.models.enums import CaseKind, Role
from tests.factories import act, make_department, make_record, make_subject, make_user, submit
from tests.web.helpers import sign_in, text


def test_compliance_counts_met_and_missed_deadlines(client, db):
    department = make_department(name="测试局")
    subject = make_subject()
    applicant, officer = make_user(Role.APPLICANT, subject=subject), make_user(Role.OFFICER)
    with clock.frozen_clock(datetime(2026, 11, 2, 9, 0)) as frozen:  # accept due Wednesday Nov 4
        on_time = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department))
        late = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department))
        frozen.set(datetime(2026, 11, 3, 9, 0))
        act(on_time, "accept", officer)
        frozen.set(datetime(2026, 11, 6, 9, 0))
        act(late, "accept", officer)
        sign_in(client, make_user(Role.SUPERVISOR).username)
        page = client.get("/desk/dashboard/sla")
        assert page.status_code == 200 and "50% (1/2)" in text(page)
        export = client.get("/desk/dashboard/sla.csv?days=30")
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    accept = [r for r in rows if r["环节"] == "受理"]
    # Accepting is the platform's step, whatever department the record comes from.
    assert accept == [{"业务流程": "异议", "环节": "受理", "责任方": "平台", "认定单位": "",
                       "时限数": "2", "按时": "1", "超期": "1", "按时率": "0.5000"}]


def test_a_bad_period_is_a_clear_422(client, db):
    sign_in(client, make_user(Role.SUPERVISOR).username)
    assert client.get("/desk/dashboard/sla.csv?days=forever").status_code == 422
    assert client.get("/desk/dashboard/sla.csv?days=0").status_code == 422


def test_the_departments_steps_are_shown_as_theirs_and_the_rest_as_the_platforms(client, db):
    department = make_department(name="测试局")
    subject = make_subject()
    applicant, officer = make_user(Role.APPLICANT, subject=subject), make_user(Role.OFFICER)
    dept_user = make_user(Role.DEPARTMENT, department=department)
    with clock.frozen_clock(datetime(2026, 11, 2, 9, 0)) as frozen:
        case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department))
        frozen.set(datetime(2026, 11, 3, 9, 0))
        act(case, "accept", officer)
        frozen.set(datetime(2026, 11, 4, 9, 0))
        act(case, "refer", officer)  # verification due Nov 11
        frozen.set(datetime(2026, 11, 16, 9, 0))
        act(case, "reply", dept_user, "经核查，记录无误", verification="correct")
        sign_in(client, make_user(Role.SUPERVISOR).username)
        page = text(client.get("/desk/dashboard/sla"))
        export = client.get("/desk/dashboard/sla.csv?days=30")
    chart = page[page.index("平台与各认定单位"):]
    assert chart.index("平台</text>") < chart.index("测试局</text>")  # the platform first, then each department
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    charged = {(r["环节"], r["责任方"], r["认定单位"], r["时限数"], r["按时"]) for r in rows}
    assert charged == {
        ("受理", "平台", "", "1", "1"), ("转办核查", "平台", "", "1", "1"),
        ("认定单位核查（目标时限）", "认定单位", "测试局", "1", "0"),
        ("认定单位核查（最长时限）", "认定单位", "测试局", "1", "1"),
    }
