"""Subject binding in a real Chromium: an agent uploads its documents, an officer verifies it in
the queue, and the agent then sees the company's case (issue 12)."""
from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from app.models.enums import BindingCapacity, CaseKind, Role
from tests.e2e.test_flows_in_browser import Steps, _sign_in, _sign_out, browser, live_server  # noqa: F401
from tests.factories import PDF, make_record, make_subject, make_user, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_binding_upload_verify_then_the_cases(committed_app, live_server, browser, tmp_path):  # noqa: F811
    with committed_app.app_context():
        company = make_subject(name="上海认证测试有限公司")
        lead = make_user(Role.APPLICANT, subject=company, capacity=BindingCapacity.LEGAL_REPRESENTATIVE)
        case = submit(lead, CaseKind.OBJECTION, make_record(subject=company, decision_date=date(2026, 6, 1)))
        make_user(Role.APPLICANT, subject=company, verified=False, username="agent1", display_name="经办人丁")
        make_user(Role.OFFICER, username="officer1", display_name="受理专员乙")
        db.session.commit()
        number = case.number
        db.session.remove()
    files = {}
    for name in ("营业执照", "身份证", "授权委托书"):
        files[name] = tmp_path / f"{name}.pdf"
        files[name].write_bytes(PDF)
    page = browser.new_page(locale="zh-CN")
    steps = Steps(page, "binding")

    # Not verified: the portal sends the agent to its verification, and nothing of the company shows.
    _sign_in(page, live_server, "agent1")
    page.goto(f"{live_server}/portal/")
    page.wait_for_url("**/portal/binding")
    assert number not in page.content() and "只能看到公开信息" in page.content()
    page.check("input[value=agent]")
    page.set_input_files("#business_licence", str(files["营业执照"]))
    page.set_input_files("#identity_card", str(files["身份证"]))
    page.set_input_files("#authorisation_letter", str(files["授权委托书"]))
    steps.shot("agent-uploads")
    page.click("button.primary")
    page.wait_for_selector("text=待核验")
    steps.shot("agent-waits")
    _sign_out(page)

    # The officer checks the documents in the queue and verifies.
    _sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/desk/bindings")
    page.click("text=上海认证测试有限公司")
    assert "授权委托书.pdf" in page.content()
    steps.shot("officer-checks")
    page.click("button[value=verify]")
    page.wait_for_url("**/desk/bindings")
    assert "没有待核验的账户" in page.content()
    _sign_out(page)

    # Verified: the agent sees the company's case.
    _sign_in(page, live_server, "agent1")
    page.goto(f"{live_server}/portal/")
    assert number in page.content()
    steps.shot("agent-sees-cases")
