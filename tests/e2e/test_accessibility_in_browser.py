"""WCAG 2.1 AA in a real Chromium (issue 15, item 4): axe-core (``tests/e2e/axe.py``) checks every
page of every role, as each role reaches it with data on it, and finds no serious or critical
violation. Every GET page of a blueprint, and every page template, is checked or listed below with
the reason, so a new page cannot escape the check. The first round is in Chinese at 1280 px, the
second, over the main pages, in English at a phone's 390 px; forms are checked showing their
validation errors, and error pages (403, 404, 413, 429, 503) too.
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path

import pyotp
import pytest
from flask import render_template, template_rendered
from pypdf import PdfReader
from werkzeug.exceptions import MethodNotAllowed, NotFound

from app import clock
from app.extensions import db
from app.models import ImportRun, ImportState, Letter
from app.models.enums import BindingCapacity, BindingDocumentKind, CaseKind, NameMismatchOrigin, Role
from app.services.accounts.subjects import note_subject_name
from app.services.binding import Upload, send_documents
from app.services.records import retire_expired_records
from tests.e2e.axe import Audit, axe_script  # noqa: F401
from tests.e2e.test_flows_in_browser import _sign_in, _sign_out, browser, live_server  # noqa: F401
from tests.factories import (
    PDF,
    act,
    make_department,
    make_record,
    make_subject,
    make_user,
    repair_uploads,
    submit,
    uscc,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CODE = re.compile(r"并输入核验码([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})")
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}

# GET endpoints that show no page of ours, each with the reason.
NOT_PAGES = {
    "static": "style sheets and scripts",
    **{f"api.{e}": "JSON for API clients" for e in ("index", "openapi", "get_record", "list_records", "list_notices",
                                                     "list_referrals")},
    "health.healthz": "a probe's plain answer",
    "health.readyz": "a probe's plain answer",
    "metrics.metrics": "Prometheus text",
    "public.statistics_json": "JSON for open-data portals",
    **dict.fromkeys(("public.statistics_csv", "admin.audit_csv", "admin.forecast_csv", "dept.forecast_csv",
                     "dept.import_template", "dept.import_run_errors", "dept.retired_csv", "desk.sla_csv"), "a CSV file"),
    "cases.download": "an uploaded file",
    "binding.document": "an uploaded file",
    "letters.download": "a PDF letter, not a page",
    "auth.set_language": "a redirect back to the page it was asked from",
    "oidc.login": "a redirect to the identity service (tests/oidc/ runs one)",
    "oidc.callback": "a redirect back from the identity service (tests/oidc/ runs one)",
}
# Page templates (those not starting with "_") that are no page, each with the reason.
NOT_PAGE_TEMPLATES = {
    "base.html": "the layout every page extends",
    **{f"letters/{kind}.html": "a PDF letter (WeasyPrint), not a page" for kind in (
        "acceptance", "complaint_reply", "non_acceptance", "objection_decision", "repair_approval", "repair_refusal",
        "supplement_request")},
}


def _people(app) -> dict:
    """A department, a subject with two records and three cases (one answered, with its letter), an
    account waiting for its binding, a name flag, a retirement run, an import run, one user per role."""
    with app.app_context():
        department = make_department(name="上海市无障碍测试局", contact_email="a11y@example.cn")
        subject = make_subject(name="上海无障碍测试有限公司")
        applicant = make_user(Role.APPLICANT, subject=subject, username="a11y-subject", display_name="申请人")
        officer = make_user(Role.OFFICER, username="a11y-officer", display_name="受理专员")
        make_user(Role.SUPERVISOR, username="a11y-supervisor", display_name="督办员")
        make_user(Role.DEPARTMENT, department=department, username="a11y-dept", display_name="部门用户")
        make_user(Role.ADMIN, username="a11y-admin", display_name="管理员")
        objected = make_record(subject=subject, department=department, decision_date=date(2026, 6, 1),
                               decision_number="沪无罚〔2026〕00001号")
        repairable = make_record(subject=subject, department=department, decision_date=date(2025, 3, 1),
                                 decision_number="沪无罚〔2025〕00002号")
        objection = submit(applicant, CaseKind.OBJECTION, objected, title="处罚决定已被撤销")
        act(objection, "accept", officer)
        act(objection, "refer", officer)
        repair = submit(applicant, CaseKind.REPAIR, repairable, uploads=repair_uploads(), title="申请信用修复")
        complaint = submit(applicant, CaseKind.COMPLAINT, None, department_id=department.id, title="更正申请逾期未答复")
        for trigger, extra in (("accept", {}), ("assign", {"assignee_id": officer.id}), ("respond", {})):
            act(complaint, trigger, officer, "已督促认定单位答复。", **extra)
        waiting = make_user(Role.APPLICANT, subject=subject, verified=False, username="a11y-agent")
        binding = send_documents(waiting, BindingCapacity.AGENT, [
            Upload(BindingDocumentKind.BUSINESS_LICENCE, "licence.pdf", PDF),
            Upload(BindingDocumentKind.IDENTITY_CARD, "id.pdf", PDF),
            Upload(BindingDocumentKind.AUTHORISATION_LETTER, "letter.pdf", PDF)])
        note_subject_name(subject, "上海无障碍测试股份有限公司", NameMismatchOrigin.DEPARTMENT,
                          department_id=department.id, record_id=objected.id)
        make_record(department=department, decision_date=date(2026, 4, 10))  # its publicity ends 2027-04-10
        run = ImportRun(department_id=department.id, file_name="records.csv", state=ImportState.REFUSED,
                        requested_at=clock.now(), errors=[[2, "severity", "x"]], error_count=1)
        db.session.add(run)
        db.session.commit()
        with clock.frozen_clock(datetime(2027, 6, 1, 3, 0)):
            retired = retire_expired_records().run_id
        letter = db.session.scalars(db.select(Letter).where(Letter.case_id == objection.id)).first()
        text = "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(letter.pdf)).pages).split())
        ids = {"department": department.id, "identifier": subject.identifier, "objected": objected.id,
               "repairable": repairable.id, "objection": objection.id, "repair": repair.id, "complaint": complaint.id,
               "binding": binding.id, "retired": retired, "import": run.id, "officer": officer.id,
               "code": CODE.search(text).group(1)}
        db.session.remove()
        return ids


class Tour:
    """One browser page that goes from page to page and checks each; it notes the endpoint each
    page was, and the templates the server rendered."""

    def __init__(self, app, base, page, audit):
        self.app, self.base, self.page, self.audit = app, base, page, audit
        self.adapter = app.url_map.bind("localhost")
        self.endpoints: set[str] = set()
        self.templates: set[str] = set()
        self.english = False
        template_rendered.connect(self._rendered, app)

    def _rendered(self, sender, template, context, **extra) -> None:
        self.templates.add(template.name)

    def _note(self, url: str) -> None:
        path = url.removeprefix(self.base).split("?")[0].split("#")[0]
        try:
            self.endpoints.add(self.adapter.match(path, method="GET")[0])
        except MethodNotAllowed:  # the page a POST answers
            self.endpoints.add(self.adapter.match(path, method="POST")[0])
        except NotFound:  # the error page of an address that is no page
            pass

    def look(self, label: str = "", url: str | None = None) -> None:
        """Check the page as it stands, which is in the round's language."""
        self._note(url or self.page.url)
        lang = self.page.evaluate("document.documentElement.lang")
        assert lang == ("en" if self.english else "zh-CN"), (self.page.url, lang)
        self.audit.check(self.page, ("en " if self.english else "zh ") + label)

    def visit(self, path: str, label: str = "", status: int = 200) -> None:
        response = self.page.goto(self.base + path)
        assert response.status == status, (path, response.status)
        self.look(label, response.url)

    def submit(self, button: str, label: str) -> None:
        """Send the form as it is filled in, and check the page that answers."""
        with self.page.expect_navigation():
            self.page.click(button)
        self.look(label)

    def sign_in(self, username: str) -> None:
        _sign_in(self.page, self.base, username)
        self.page.wait_for_load_state("load")
        self.language()

    def sign_out(self) -> None:
        _sign_out(self.page)
        self.language()

    def language(self) -> None:
        """The round's language, chosen as a visitor does (the switch in the header)."""
        self.page.goto(f"{self.base}/auth/language/{'en' if self.english else 'zh_CN'}")


def _public(tour: Tour, ids: dict) -> None:
    tour.visit("/")
    tour.visit("/query")
    tour.page.fill("#identifier", ids["identifier"])
    tour.submit("form.search button", "results")
    tour.page.fill("#identifier", "91310000000000000X")
    tour.submit("form.search button", "a code refused")
    tour.visit("/statistics")
    tour.visit("/letters/verify")
    tour.visit(f"/letters/verify?code={ids['code']}", "a letter confirmed")
    tour.visit("/auth/sign-in")
    tour.page.fill("#username", "nobody")
    tour.page.fill("#password", "wrong password")
    tour.submit("button.primary", "refused")
    tour.visit("/auth/sign-up")
    tour.page.fill("#email", "not an address")
    tour.submit("button.primary", "validation errors")
    tour.visit("/no-such-page", "not found", status=404)
    if tour.english:
        return
    tour.visit("/api/v1/docs")
    wrong = ids["code"][:-1] + ("A" if ids["code"][-1] != "A" else "B")
    tour.visit(f"/letters/verify?code={wrong}", "a wrong code", status=404)
    tour.visit("/auth/password/forgot", "without a mail service")
    config = tour.app.config
    saved = {k: config[k] for k in ("SMTP_HOST", "DEMO_MODE", "MAX_CONTENT_LENGTH", "LETTER_VERIFY_LIMIT_PER_ADDRESS")}
    try:
        config["SMTP_HOST"] = "127.0.0.1"  # the form shows with a mail service (no mail is sent here)
        tour.visit("/auth/password/forgot")
        tour.submit("button.primary", "validation errors")
        tour.page.fill("#login", "a11y-subject")
        tour.submit("button.primary", "mail sent")
        config["SMTP_HOST"], config["DEMO_MODE"] = None, False
        tour.visit("/auth/sign-up", "no sign-ups here", status=503)
        config["DEMO_MODE"], config["MAX_CONTENT_LENGTH"] = True, 256
        tour.visit("/auth/sign-up")
        tour.page.fill("#subject_name", "名" * 100)
        tour.submit("button.primary", "too large")
        config["MAX_CONTENT_LENGTH"], config["LETTER_VERIFY_LIMIT_PER_ADDRESS"] = saved["MAX_CONTENT_LENGTH"], "1 per day"
        tour.page.goto(f"{tour.base}/letters/verify?code={ids['code']}")
        tour.visit(f"/letters/verify?code={ids['code']}", "too many requests", status=429)
    finally:
        config.update(saved)
    # The outage page, as the handler renders it when the database is down (tests/web/test_database_outage.py).
    with tour.app.test_request_context("/"):
        outage = render_template("errors/503.html", wait="1 分钟")
    tour.page.route(f"{tour.base}/outage", lambda route: route.fulfill(status=503, body=outage, content_type="text/html"))
    tour.visit("/outage", "the database unreachable", status=503)
    tour.visit("/auth/sign-up")
    tour.page.check("input[value=legal]")
    tour.page.fill("#identifier", uscc())
    tour.page.fill("#subject_name", "上海新注册测试有限公司")
    tour.page.fill("#email", "new-subject@example.cn")
    tour.page.fill("#password", "a fresh passphrase 9")
    tour.page.fill("#confirm", "a fresh passphrase 9")
    tour.submit("button.primary", "sign-up sent (the demo shows the mail)")
    link = tour.page.locator("a[href*='/auth/sign-up/']").first.get_attribute("href")
    tour.visit(link.removeprefix(tour.base), "finish the sign-up")


def _subject(tour: Tour, ids: dict) -> None:
    tour.sign_in("a11y-subject")
    tour.visit("/portal/")
    tour.visit(f"/cases/{ids['objection']}")
    tour.visit(f"/cases/{ids['complaint']}", "answered, with its letter")
    tour.visit("/portal/complaints/new")
    tour.submit("button.primary", "validation errors")
    if not tour.english:
        tour.page.set_input_files("#evidence", files=[{"name": "statement.exe", "mimeType": "application/octet-stream",
                                                       "buffer": b"MZ"}])
        tour.page.wait_for_selector(".upload-error")
        tour.look("a file refused before sending")
        tour.page.set_input_files("#evidence", files=[{"name": "statement.pdf", "mimeType": "application/pdf",
                                                       "buffer": PDF}])
        saved, tour.app.config["MAX_CONTENT_LENGTH"] = tour.app.config["MAX_CONTENT_LENGTH"], 256
        try:  # the server refuses what the page let go: the refusal is shown on the form
            tour.page.click("button.primary")
            tour.page.wait_for_selector(".upload-alert .errors")
        finally:
            tour.app.config["MAX_CONTENT_LENGTH"] = saved
        tour.look("a file refused by the server")
        tour.visit(f"/portal/records/{ids['objected']}/objection", "an objection already open")
        tour.visit(f"/portal/records/{ids['repairable']}/repair")
        tour.visit(f"/cases/{ids['repair']}")
        tour.visit("/portal/binding")
        tour.visit("/auth/sessions")
        tour.visit("/auth/password/change")
        tour.submit("button.primary", "validation errors")
        tour.visit("/desk/", "forbidden", status=403)
    tour.sign_out()
    tour.sign_in("a11y-agent")
    tour.visit("/portal/binding", "waiting for the officer")
    tour.sign_out()


def _officer(tour: Tour, ids: dict) -> None:
    tour.sign_in("a11y-officer")
    tour.visit("/desk/")
    tour.visit("/desk/queues")
    tour.visit(f"/cases/{ids['repair']}", "its actions")
    tour.visit("/desk/bindings")
    if not tour.english:
        tour.visit("/desk/queues")
        tour.submit("form[action$='/desk/queues/bulk'] button[type=submit]", "a bulk action with nothing ticked")
        tour.visit(f"/cases/{ids['objection']}", "referred")
        tour.visit(f"/desk/bindings/{ids['binding']}")
        tour.visit("/desk/names")
        tour.visit("/desk/workflows")
        for href in tour.page.locator("nav.tabs a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
            tour.visit(href)
        tour.visit("/auth/two-factor/")
    tour.sign_out()


def _supervisor(tour: Tour, ids: dict) -> None:
    if tour.english:  # enrolled in the first round: the sign-in asks for a code
        _sign_in(tour.page, tour.base, "a11y-supervisor")
        tour.page.wait_for_url("**/auth/two-factor/code")
        tour.language()
        tour.visit("/auth/two-factor/code")
        tour.page.fill("#code", tour.recovery_code)
        tour.page.click("button.primary")
        tour.page.wait_for_url("**/desk/**")
    else:
        tour.sign_in("a11y-supervisor")
    tour.visit("/desk/dashboard")
    tour.visit("/desk/dashboard/sla")
    if not tour.english:
        tour.visit("/auth/two-factor/enrol")
        secret = tour.page.input_value("input.secret").replace(" ", "")
        tour.page.fill("#code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        tour.submit("button.primary", "a wrong code")
        tour.page.fill("#code", pyotp.TOTP(secret).now())
        tour.submit("button.primary", "recovery codes")
        tour.recovery_code = tour.page.locator(".recovery-codes code").first.inner_text()
        tour.page.click("a.button.primary")  # on to the account page, as the enrolled user would
        _sign_out(tour.page)
        _sign_in(tour.page, tour.base, "a11y-supervisor")
        tour.page.wait_for_url("**/auth/two-factor/code")
        tour.look("the second step of the sign-in")
        tour.page.goto(f"{tour.base}/")
        return
    tour.sign_out()


def _department(tour: Tour, ids: dict) -> None:
    tour.sign_in("a11y-dept")
    tour.visit("/dept/")
    tour.visit("/dept/referrals")
    tour.visit(f"/cases/{ids['objection']}", "the reply")
    tour.visit("/dept/records/new")
    tour.submit("button.primary", "validation errors")
    if not tour.english:
        tour.visit(f"/dept/records/{ids['objected']}")
        tour.visit("/dept/records/import")
        tour.visit(f"/dept/imports/{ids['import']}")
        tour.visit(f"/dept/retired/{ids['retired']}")
        tour.visit("/dept/forecast")
    tour.sign_out()


def _admin(tour: Tour, ids: dict) -> None:
    tour.sign_in("a11y-admin")
    for path in ("/admin/", "/admin/users", "/admin/departments", "/admin/policy", "/admin/calendar",
                 "/admin/outbox", "/admin/forecast", "/admin/audit"):
        tour.visit(path)
    if tour.english:
        tour.sign_out()
        return
    tour.visit(f"/admin/departments/{ids['department']}")
    tour.page.fill("#key-name", "批量推送")
    tour.submit("form[action$='/keys'] button", "a new key shown once")
    tour.visit("/admin/policy/1")
    tour.visit("/admin/policy/new")
    tour.page.fill("input[name='class.general.publicity']", "6m")
    tour.submit("button[value=preview]", "preview")
    tour.visit("/admin/outbox/dead")
    tour.visit(f"/admin/users/{ids['officer']}/two-factor")
    tour.visit("/admin/users?q=a11y-dept")
    tour.submit("text=密码链接", "a password link")
    link = tour.page.input_value("input.secret")
    tour.sign_out()
    tour.visit(link.removeprefix(tour.base), "the password link")
    tour.page.reload()
    tour.look("the password link, reloaded (its script took the token out of the address)")


def test_every_page_of_every_role_has_no_serious_accessibility_violation(committed_app, live_server, browser,  # noqa: F811
                                                                          axe_script):  # noqa: F811
    ids = _people(committed_app)
    audit = Audit(axe_script)
    page = browser.new_page(locale="zh-CN", bypass_csp=True, viewport=DESKTOP)
    tour = Tour(committed_app, live_server, page, audit)
    for english in (False, True):
        tour.english = english
        page.set_viewport_size(PHONE if english else DESKTOP)
        tour.language()
        for role in (_public, _subject, _officer, _supervisor, _department, _admin):
            role(tour, ids)

    pages = {rule.endpoint for rule in committed_app.url_map.iter_rules() if "GET" in rule.methods}
    unchecked = sorted(pages - tour.endpoints - set(NOT_PAGES))
    assert not unchecked, f"check these pages here, or list them in NOT_PAGES with the reason: {unchecked}"
    templates = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html") if not p.name.startswith("_")}
    unshown = sorted(templates - tour.templates - set(NOT_PAGE_TEMPLATES))
    assert not unshown, f"show these templates here, or list them in NOT_PAGE_TEMPLATES with the reason: {unshown}"
    assert len(audit.checked) > 100
    assert not audit.findings, audit.report()


def test_the_check_finds_what_it_should(browser, axe_script):  # noqa: F811
    """A page with no language, an unlabelled field, an image without a name, pale text, a list
    item out of its list, a heading level skipped, an empty table header, a link without a focus
    ring and a field with a pale edge: the check reports each, so that its silence on the real
    pages means something."""
    audit = Audit(axe_script)
    page = browser.new_page(bypass_csp=True)
    page.set_content("<html><head><title>t</title></head><body><main><h1>t</h1><input id=x>"
                     "<img src='data:,'><p style='color:#bbb;background:#fff'>pale</p>"
                     "<ul role=alert><li>a</li></ul><h3>deep</h3>"
                     "<table><tr><th>a</th><th></th></tr><tr><td>1</td><td>2</td></tr></table>"
                     "<a href='#t' style='outline: none'>t</a><textarea aria-label=t style='border: 1px solid #ccc'>"
                     "</textarea></main></body></html>")
    found = audit.check(page)
    assert {f.rule for f in found} == {"html-has-lang", "label", "image-alt", "color-contrast", "listitem",
                                       "heading-order", "empty-table-header", "non-text-contrast"}, found
    assert {(f.target, f.help.split(" at ")[0]) for f in found if f.rule == "non-text-contrast"} == {
        ("a", "focus ring"), ("textarea", "field border")}
    assert audit.findings and len(audit.checked) == 1
