"""The officer queue page read as plain rows (issue 16, item 4): the same columns, links, labels
and choices as before, in both languages, and a number of statements that does not grow with
the rows."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from app import clock
from app.labels import label
from app.models.enums import CaseKind, Role
from app.services.accounts import list_departments, list_officers
from app.services.cases.queues import queue_choices
from tests.factories import act, make_department, make_record, make_subject, make_user, submit
from tests.statements import recorded_statements
from tests.web.helpers import sign_in, text


def _cases(n: int, department=None):
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    department = department or make_department()
    made = []
    for i in range(n):
        with clock.frozen_clock(datetime(2026, 11, 2, 9, 0) + timedelta(hours=i)):
            if i % 2:
                made.append(submit(applicant, CaseKind.COMPLAINT, None, department_id=department.id))
            else:
                made.append(submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department)))
    return made


def _rows(html: str) -> list[list[str]]:
    """The cells of the queue's rows, tags stripped (the first table of the page)."""
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [[re.sub(r"<[^>]+>", "", cell).split("\n")[0].strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_each_row_shows_its_case_with_labels_names_and_link(app, client, db, locale):
    made = _cases(3)
    officer = make_user(Role.OFFICER, display_name="王办案")
    act(made[1], "accept", officer)
    db.session.refresh(made[1])
    act(made[1], "assign", officer, assignee_id=officer.id)
    sign_in(client, officer.username)
    with client.session_transaction() as session:
        session["locale"] = locale
    html = text(client.get("/desk/queues"))
    by_number = {row[1]: row for row in _rows(html)}
    assert set(by_number) == {c.number for c in made}
    with app.test_request_context(), force_locale(locale):
        headers = [str(_(h)) for h in ("Select", "Case number", "Type", "Status", "Subject", "Handled by")]
        for case in made:
            db.session.refresh(case)
            row = by_number[case.number]
            href = url_for("cases.show", case_id=case.id)
            assert f'<a href="{href}"><code>{case.number}</code></a>' in html
            assert f'<input type="hidden" name="v{case.id}" value="{case.version}">' in html
            assert row[2:6] == [label("case_kind", case.kind), label("case_state", case.state), case.subject.name,
                                case.assignee.display_name if case.assignee else "—"]
    assert by_number[made[1].number][5] == "王办案" and by_number[made[0].number][5] == "—"
    for header in headers:
        assert html.count(f'data-label="{header}"') == 3  # each row's cell is named, in the reader's language
    assert headers[1] == ("案件编号" if locale == "zh_CN" else "Case number")


def test_labels_memo_looks_each_code_up_once(app, monkeypatch):
    from app import labels as labels_module
    from app.web import filters

    calls = []
    real = labels_module.label
    monkeypatch.setattr(labels_module, "label", lambda vocabulary, code: calls.append(code) or real(vocabulary, code))
    with app.test_request_context():
        names = filters.Labels("case_state")
        assert [names["submitted"], names["accepted"], names["submitted"]] == [
            real("case_state", "submitted"), real("case_state", "accepted"), real("case_state", "submitted")]
        assert names["no-such-state"] == "no-such-state"  # an unknown code shows as itself, as label() does
    assert calls == ["submitted", "accepted", "no-such-state"]


def test_queue_choices_are_the_officers_and_departments_of_the_directory(db):
    make_user(Role.OFFICER, display_name="乙")
    make_user(Role.SUPERVISOR, display_name="甲")
    make_user(Role.OFFICER, display_name="丙", is_active=False)
    make_user(Role.ADMIN, display_name="管理员")
    make_user(Role.APPLICANT)
    make_department(name="B 部门")
    make_department(name="A 部门")
    make_department(name="C 部门", is_active=False)
    officers, departments = queue_choices()
    assert officers == [(u.id, u.display_name) for u in list_officers()]
    assert departments == [(d.id, d.name) for d in list_departments()]
    assert "丙" not in {name for _, name in officers} and "C 部门" not in {name for _, name in departments}


def test_the_page_offers_every_officer_and_department_as_before(client, db):
    made = _cases(1)
    officer = make_user(Role.OFFICER, display_name="<b>张</b>")
    sign_in(client, officer.username)
    html = text(client.get(f"/desk/queues?assignee={officer.id}"))
    assert f'<option selected value="{officer.id}">&lt;b&gt;张&lt;/b&gt;</option>' in html
    for department in list_departments():
        assert f'<option value="{department.id}">{department.name}</option>' in html
    assert made[0].number not in html.split("<tbody>")[1]  # filtered: handled by nobody


def test_statements_do_not_grow_with_the_rows(client, db):
    department = make_department()
    _cases(2, department)
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)

    def statements() -> int:
        with recorded_statements() as seen:
            assert client.get("/desk/queues").status_code == 200
        return sum(s.startswith("SELECT") for s in seen)

    few = statements()
    _cases(6, department)
    assert statements() == few
