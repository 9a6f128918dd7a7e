"""A step that cannot be undone asks first, in a real Chromium (issue 15, item 4): said no, the
case stays as it was; said yes, the step is taken. A step that can be undone does not ask."""
from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from app.models import Case
from app.models.enums import CaseKind, Role
from tests.e2e.test_flows_in_browser import _sign_in, browser, live_server  # noqa: F401
from tests.factories import make_record, make_subject, make_user, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_withdrawing_asks_first_and_no_keeps_the_case(committed_app, live_server, browser):  # noqa: F811
    with committed_app.app_context():
        subject = make_subject()
        applicant = make_user(Role.APPLICANT, subject=subject, username="subject-confirm")
        case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, decision_date=date(2026, 6, 1)))
        db.session.commit()
        case_id = case.id
        db.session.remove()

    def state():
        with committed_app.app_context():
            value = db.session.get(Case, case_id).state
            db.session.remove()
            return value

    page = browser.chromium.new_page(locale="zh-CN")  # a page that answers no
    asked = []

    def say_no(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", say_no)
    _sign_in(page, live_server, "subject-confirm")
    page.goto(f"{live_server}/cases/{case_id}")
    page.click("button[value=withdraw]")
    page.wait_for_timeout(500)
    assert asked and "无法撤回" in asked[0] and state() == "submitted"
    page.close()

    page = browser.new_page(locale="zh-CN")  # answers yes
    _sign_in(page, live_server, "subject-confirm")
    page.goto(f"{live_server}/cases/{case_id}")
    page.click("button[value=withdraw]")
    page.wait_for_selector("text=已撤回")
    assert page.dialogs and state() == "withdrawn"
