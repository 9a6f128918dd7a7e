"""End to end in a real Chromium: an objection from filing to the record leaving the public view.

A subject files an objection with a PDF; an officer accepts and refers it; the department
answers that the decision was revoked; the officer decides "revoke"; the public query no longer
shows the record; the subject sees the decided case with its reasons.
"""
from __future__ import annotations

import os
import shutil
import threading
from datetime import date
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.extensions import db
from app.models.enums import Role
from tests.factories import PASSWORD, PDF, make_department, make_record, make_subject, make_user

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live_server(committed_app):
    server = make_server("127.0.0.1", 0, committed_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _sign_in(page, base, username):
    page.goto(f"{base}/auth/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button.primary")


def _sign_out(page):
    page.click("header form button")


def test_objection_end_to_end(committed_app, live_server, browser, tmp_path):
    with committed_app.app_context():
        department = make_department(name="上海市测试监督管理局")
        subject = make_subject(name="上海浏览器测试有限公司")
        applicant = make_user(Role.APPLICANT, subject=subject, username="subject1", display_name="申请人甲")
        make_user(Role.OFFICER, username="officer1", display_name="受理专员乙")
        make_user(Role.DEPARTMENT, department=department, username="dept1", display_name="部门用户丙")
        record = make_record(subject=subject, department=department, decision_date=date(2026, 6, 1),
                             decision_number="沪测罚〔2026〕00042号")
        db.session.commit()
        identifier, record_id = subject.identifier, record.id
        db.session.remove()
    evidence = tmp_path / "复议决定书.pdf"
    evidence.write_bytes(PDF)
    page = browser.new_page(locale="zh-CN")

    # The public sees the record.
    page.goto(f"{live_server}/query")
    page.fill("#identifier", identifier)
    page.click("form.search button")
    assert "沪测罚〔2026〕00042号" in page.content()

    # The subject files an objection with a PDF.
    _sign_in(page, live_server, "subject1")
    page.goto(f"{live_server}/portal/records/{record_id}/objection")
    page.fill("#title", "处罚决定已被复议撤销")
    page.fill("#statement", "该处罚决定已于行政复议中被撤销，请撤销公示。")
    page.set_input_files("#evidence", str(evidence))
    page.click("button.primary")
    page.wait_for_url("**/cases/*")
    case_url = page.url
    assert "已提交" in page.content() and "复议决定书.pdf" in page.content()
    _sign_out(page)

    # The officer accepts and refers it.
    _sign_in(page, live_server, "officer1")
    page.goto(case_url)
    page.click("button[value=accept]")
    page.wait_for_selector("button[value=refer]")
    assert "异议处理中" in page.content()
    page.click("button[value=refer]")
    page.wait_for_selector("text=已转办核查")
    _sign_out(page)

    # The department answers: the decision was revoked.
    _sign_in(page, live_server, "dept1")
    page.goto(f"{live_server}/dept/referrals")
    page.click(f"a[href='{case_url.removeprefix(live_server)}']")
    page.fill("#reason", "经核查，原处罚决定已于复议中撤销，同意撤销公示。")
    page.click("button[value=reply]")
    page.wait_for_selector("text=认定单位已回复")
    _sign_out(page)

    # The officer decides: revoke.
    _sign_in(page, live_server, "officer1")
    page.goto(case_url)
    page.fill("#reason", "原处罚决定已撤销，撤销该失信信息公示。")
    page.click("button[value=decide_revoke]")
    page.wait_for_selector("text=撤销公示")
    _sign_out(page)

    # The public no longer sees the record.
    page.goto(f"{live_server}/query")
    page.fill("#identifier", identifier)
    page.click("form.search button")
    assert "沪测罚〔2026〕00042号" not in page.content()
    assert "暂无处于公示期的失信信息" in page.content()

    # The subject sees the decided case with its reasons.
    _sign_in(page, live_server, "subject1")
    page.goto(case_url)
    content = page.content()
    assert "原处罚决定已撤销，撤销该失信信息公示。" in content
    assert "经核查，原处罚决定已于复议中撤销" in content
    page.screenshot(path=str(tmp_path / "decided.png"), full_page=True)
