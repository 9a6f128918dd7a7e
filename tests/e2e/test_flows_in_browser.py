"""End to end in a real Chromium, through the pages alone: an objection, a repair and a complaint,
each from submission to closure. A screenshot of every step is kept under build/e2e/ (CI
artefacts).
"""
from __future__ import annotations

import re
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
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "e2e"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Steps:
    """Numbered screenshots of one flow."""

    def __init__(self, page, name: str):
        self.page, self.n = page, 0
        self.folder = ARTEFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)

    def shot(self, step: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(self.folder / f"{self.n:02d}-{step}.png"), full_page=True)


def _deliver(app):
    """What the scheduler's dispatch job does every 30 seconds."""
    from app.services.notices.dispatch import dispatch_pending

    with app.app_context():
        dispatch_pending()
        db.session.remove()


def _buffered(app):
    """The application with each response read whole and its iterator closed before werkzeug
    writes a byte: when Chromium drops a connection mid-response (it navigates on while a style
    sheet is still being sent), werkzeug's development server gives up without closing the file it
    was streaming, and the unclosed file is a ResourceWarning that fails whichever test is running."""

    def application(environ, start_response):
        chunks = app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return [body]

    return application


@pytest.fixture
def live_server(committed_app):
    server = make_server("127.0.0.1", 0, _buffered(committed_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    committed_app.config["PUBLIC_BASE_URL"] = url  # the site's address, as mailed and shown links use it
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


class ConfirmingBrowser:
    """Chromium whose pages answer yes to the confirmation that a step that cannot be undone
    asks (a decision, a withdrawal, a close), as the user who clicked it would, and keep what it
    said (``page.dialogs``). Anything else is the browser's own."""

    def __init__(self, chromium):
        self.chromium = chromium

    def new_page(self, **options):
        page = self.chromium.new_page(**options)
        page.dialogs = []

        def accept(dialog):
            page.dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        return page

    def __getattr__(self, name):
        return getattr(self.chromium, name)


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
            yield ConfirmingBrowser(chromium)
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
    """Filed with a PDF, accepted, referred, answered "revoke", decided, closed; the record
    leaves the public view and the subject reads the decision and the notice."""
    with committed_app.app_context():
        department = make_department(name="上海市测试监督管理局")
        subject = make_subject(name="上海浏览器测试有限公司")
        make_user(Role.APPLICANT, subject=subject, username="subject1", display_name="申请人甲")
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
    steps = Steps(page, "objection")

    # The public sees the record.
    page.goto(f"{live_server}/query")
    page.fill("#identifier", identifier)
    page.click("form.search button")
    assert "沪测罚〔2026〕00042号" in page.content()
    steps.shot("public-query-before")

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
    steps.shot("subject-filed")
    _sign_out(page)

    # The officer accepts and refers it.
    _sign_in(page, live_server, "officer1")
    page.goto(case_url)
    page.click("button[value=accept]")
    page.wait_for_selector("button[value=refer]")
    assert "异议处理中" in page.content()
    steps.shot("officer-accepted")
    page.click("button[value=refer]")
    page.wait_for_selector("text=已转办核查")
    steps.shot("officer-referred")
    _sign_out(page)

    # The department answers: the decision was revoked.
    _sign_in(page, live_server, "dept1")
    page.goto(f"{live_server}/dept/referrals")
    page.click(f"a[href='{case_url.removeprefix(live_server)}']")
    page.select_option("#verification", value="revoke")
    page.fill("#reason", "经核查，原处罚决定已于复议中撤销，同意撤销公示。")
    page.click("button[value=reply]")
    page.wait_for_selector("text=认定单位已回复")
    steps.shot("department-replied")
    _sign_out(page)

    # The officer decides: revoke.
    _sign_in(page, live_server, "officer1")
    page.goto(case_url)
    page.click("details.templates summary")
    page.click("button[data-template^='原行政决定已被撤销']")  # the text template fills the reason
    assert page.input_value("#reason") == "原行政决定已被撤销，该失信信息撤销公示。"
    page.fill("#reason", "原处罚决定已撤销，撤销该失信信息公示。")
    page.click("button[value=decide_revoke]")
    page.wait_for_selector("text=撤销公示")
    steps.shot("officer-decided")
    page.click("button[value=close]")
    page.wait_for_selector("text=已办结")
    steps.shot("officer-closed")
    _sign_out(page)
    _deliver(committed_app)

    # The public no longer sees the record.
    page.goto(f"{live_server}/query")
    page.fill("#identifier", identifier)
    page.click("form.search button")
    assert "沪测罚〔2026〕00042号" not in page.content()
    assert "暂无处于公示期的失信信息" in page.content()
    steps.shot("public-query-after")

    # The subject sees the decided case with its reasons.
    _sign_in(page, live_server, "subject1")
    page.goto(case_url)
    content = page.content()
    assert "已办结" in content
    assert "原处罚决定已撤销，撤销该失信信息公示。" in content
    assert "经核查，原处罚决定已于复议中撤销" in content
    steps.shot("subject-reads-decision")
    page.goto(f"{live_server}/portal/")
    notices = page.inner_text("ul.inbox")  # each step in a sentence of its own, with the link to the case
    assert re.search(r"您的异议申请 YY-\d{4}-\d+ 成立：失信信息已撤销并停止公示。", notices)
    assert page.locator(f"ul.inbox a[href='{case_url}']").count() >= 1
    steps.shot("subject-notices")


def test_repair_end_to_end(committed_app, live_server, browser, tmp_path):
    """Applied for with proof and commitment, accepted, approved: the record leaves publicity."""
    with committed_app.app_context():
        department = make_department(name="上海市测试税务局")
        subject = make_subject(name="上海修复测试有限公司")
        make_user(Role.APPLICANT, subject=subject, username="subject2", display_name="申请人丁")
        make_user(Role.OFFICER, username="officer2", display_name="受理专员戊")
        record = make_record(subject=subject, department=department, decision_date=date(2025, 3, 1),
                             decision_number="沪测税罚〔2025〕00007号")
        db.session.commit()
        identifier, record_id = subject.identifier, record.id
        db.session.remove()
    proof, commitment = tmp_path / "缴款凭证.pdf", tmp_path / "信用承诺书.pdf"
    proof.write_bytes(PDF)
    commitment.write_bytes(PDF)
    page = browser.new_page(locale="zh-CN")
    steps = Steps(page, "repair")

    _sign_in(page, live_server, "subject2")
    page.click(f"a[href='/portal/records/{record_id}/repair']")
    assert "该失信信息符合信用修复条件" in page.content()
    steps.shot("eligibility-shown")
    page.fill("#title", "已履行处罚义务，申请信用修复")
    page.fill("#statement", "罚款已于2025年4月缴清，整改已完成。")
    page.set_input_files("#obligation_proof", str(proof))
    page.set_input_files("#commitment", str(commitment))
    page.click("button.primary")
    page.wait_for_url("**/cases/*")
    case_url = page.url
    steps.shot("subject-applied")
    _sign_out(page)

    _sign_in(page, live_server, "officer2")
    page.goto(case_url)
    page.click("button[value=accept]")
    page.wait_for_selector("button[value=approve]")
    steps.shot("officer-accepted")
    page.fill("#reason", "已履行义务并作出信用承诺，符合修复条件，予以修复。")
    page.click("button[value=approve]")
    page.wait_for_selector("text=修复通过")
    steps.shot("officer-approved")
    _sign_out(page)
    _deliver(committed_app)

    page.goto(f"{live_server}/query")
    page.fill("#identifier", identifier)
    page.click("form.search button")
    assert "沪测税罚〔2025〕00007号" not in page.content()
    steps.shot("public-query-after")

    _sign_in(page, live_server, "subject2")
    page.goto(case_url)
    assert "已履行义务并作出信用承诺，符合修复条件，予以修复。" in page.content()
    steps.shot("subject-reads-approval")


def test_complaint_end_to_end(committed_app, live_server, browser):
    """Filed about a department, accepted, assigned, answered, closed by the applicant."""
    with committed_app.app_context():
        make_department(name="上海市被投诉局")
        subject = make_subject(name="上海投诉测试有限公司")
        make_user(Role.APPLICANT, subject=subject, username="subject3", display_name="申请人己")
        make_user(Role.OFFICER, username="officer3", display_name="受理专员庚")
        db.session.commit()
        db.session.remove()
    page = browser.new_page(locale="zh-CN")
    steps = Steps(page, "complaint")

    _sign_in(page, live_server, "subject3")
    page.goto(f"{live_server}/portal/complaints/new")
    page.select_option("#department_id", label="上海市被投诉局")
    page.fill("#title", "更正申请逾期未答复")
    page.fill("#statement", "2026年10月提交的更正申请至今未获答复。")
    page.click("button.primary")
    page.wait_for_url("**/cases/*")
    case_url = page.url
    steps.shot("subject-filed")
    _sign_out(page)

    _sign_in(page, live_server, "officer3")
    page.goto(case_url)
    page.click("button[value=accept]")
    page.wait_for_selector("button[value=assign]")
    page.select_option("#assignee_id", label="受理专员庚")
    page.click("button[value=assign]")
    page.wait_for_selector("button[value=respond]")
    steps.shot("officer-assigned")
    page.fill("#reason", "已督促认定单位于3个工作日内答复，并将办理结果告知您。")
    page.click("button[value=respond]")
    page.wait_for_selector("text=已答复")
    steps.shot("officer-responded")
    _sign_out(page)

    _sign_in(page, live_server, "subject3")
    page.goto(case_url)
    page.click("button[value=close]")
    page.wait_for_selector("text=已办结")
    assert "已督促认定单位于3个工作日内答复" in page.content()
    steps.shot("subject-closed")


def test_admin_console_in_browser(committed_app, live_server, browser):
    """An admin adds a department and its API key, hands a password link to an officer who uses
    it, drafts a policy version with its preview, and previews a calendar override."""
    import re

    with committed_app.app_context():
        make_user(Role.ADMIN, username="admin9", display_name="管理员")
        make_user(Role.OFFICER, username="officer9", display_name="受理专员")
        db.session.commit()
        db.session.remove()
    page = browser.new_page(locale="zh-CN")
    steps = Steps(page, "admin")
    _sign_in(page, live_server, "admin9")

    page.goto(f"{live_server}/admin/departments")
    page.fill("#code", "e2e-tax")
    page.fill("#name", "浏览器测试税务局")
    page.fill("#contact_email", "tax@example.cn")
    page.click("button.primary")
    page.wait_for_url("**/admin/departments/*")
    page.fill("#key-name", "批量推送")
    page.click("form[action$='/keys'] button")
    token = page.input_value("input.secret")
    assert re.fullmatch(r"cdk_[0-9a-f]{12}_\S+", token)
    steps.shot("api-key-shown-once")
    page.reload()
    assert token not in page.content()

    page.goto(f"{live_server}/admin/users?q=officer9")
    page.click("text=密码链接")
    link = page.input_value("input.secret")
    steps.shot("password-link")
    _sign_out(page)
    page.goto(link)
    page.fill("#password", "a fresh passphrase 9")
    page.fill("#confirm", "a fresh passphrase 9")
    page.click("button.primary")
    page.wait_for_url("**/auth/sign-in")
    page.fill("#username", "officer9")
    page.fill("#password", "a fresh passphrase 9")
    page.click("button.primary")
    page.wait_for_url("**/desk/**")
    _sign_out(page)

    _sign_in(page, live_server, "admin9")
    page.goto(f"{live_server}/admin/policy/new")
    page.fill("input[name='class.general.publicity']", "6m")
    page.click("button[value=preview]")
    assert page.locator("#preview").is_visible()
    steps.shot("policy-preview")
    page.click("button[value=save]")
    page.wait_for_url("**/admin/policy")
    assert "待生效" in page.content() or "生效中" in page.content()
    steps.shot("policy-history")

    page.goto(f"{live_server}/admin/calendar")
    steps.shot("calendar")
    page.goto(f"{live_server}/admin/audit")
    content = page.content()
    for action in ("department.create", "apikey.create", "user.password_reset", "policy.create"):
        assert action in content, action
    steps.shot("audit-log")
