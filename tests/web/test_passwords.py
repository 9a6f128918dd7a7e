"""Passwords on the web (issue 13): the weak ones refused with their reason on every form that sets
one; "Forgot password?" answered the same whoever asks, with the link by mail (a real SMTP
server); the link's token nowhere in the request log (a real server) nor in a Referer; the link
used up by setting the password; "Change password".
"""
from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
import time
from html import unescape
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db as _db
from app.models import Notification, PasswordReset, User
from app.models.enums import Role
from app.services.accounts import check_password
from app.services.notices.dispatch import dispatch_pending
from app.web.link_tokens import redact
from tests.factories import make_user, uscc
from tests.service import test_dispatch
from tests.web.helpers import csrf_token, sign_in, text

smtp = test_dispatch.smtp  # the real SMTP server on the loopback (aiosmtpd)

ROOT = Path(__file__).resolve().parents[2]
NEW = "a new and rather long passphrase"
LINK = re.compile(r"http://casedesk\.test(/auth/password/([A-Za-z0-9_-]{40,}))")
_CSRF = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+')

# The reasons, as a Chinese page shows them.
SHORT = "请至少输入 12 个字符。"
COMMON = "这是最常见的密码之一。"
NAME = "密码中请勿包含您的姓名、用户名或电子邮箱。"
REPEAT = "请勿重复同一字符或简短组合（如 aaaa、abcabc）。"
RUN = "请勿使用连续字符（如 12345、abcde、qwert）。"
WEAK = [("1234567890", [SHORT, COMMON, RUN]), ("aaaaaaaaaa", [SHORT, COMMON, REPEAT]),
        ("password12", [SHORT, COMMON])]


@pytest.fixture
def production_like(app, smtp):
    """No demo, and a mail service: the situation a stranger meets."""
    app.config["DEMO_MODE"] = False
    try:
        yield smtp
    finally:
        app.config["DEMO_MODE"] = True


def _mail_link(inbox, index: int = -1) -> tuple[str, str]:
    """(path, token) of the link in a mail the SMTP server got."""
    body = inbox.messages[index][1].get_payload(decode=True).decode()
    match = LINK.search(body)
    assert match, body
    return match.group(1), match.group(2)


def _refused(response, reasons: list[str]) -> bool:
    """A 422 whose password field lists every reason (the form's validator, on the field)."""
    found = re.search(r'<ul class="field-errors" id="password-errors">(.*?)</ul>', text(response), re.S)
    return response.status_code == 422 and found is not None and all(r in found.group(1) for r in reasons)


def _submit_link_page(client, path: str, password: str = NEW, confirm: str | None = None):
    """Fill in the page the link opens and send its form where its action says, hidden fields and all."""
    page = text(client.get(path))
    form = re.search(r"<form[^>]*>(.*?)</form>", page, re.S)
    action = re.search(r'action="([^"]*)"', re.search(r"<form[^>]*>", page).group(0))
    hidden = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"', form.group(1)))
    hidden.update(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(1)))
    target = unescape(action.group(1)) if action and action.group(1) else path
    return client.post(target, data={**hidden, "password": password, "confirm": confirm or password})


# ---------------------------------------------------------------------------------------
# Weak passwords, on every form that sets one
# ---------------------------------------------------------------------------------------

def _sign_up(client, password: str, **fields):
    data = {"kind": "legal", "identifier": uscc(), "subject_name": "上海新开贸易有限公司", "display_name": "王经理",
            "email": "wang.manager@newco.example.cn", "password": password, "confirm": password,
            "csrf_token": csrf_token(client, "/auth/sign-up"), **fields}
    return client.post("/auth/sign-up", data=data)


def test_the_weak_passwords_of_the_issue_are_refused_at_sign_up_with_their_reasons(client, db):
    for password, reasons in [*WEAK, ("wang.manager@newco", [NAME]), ("上海新开贸易有限公司的账户", [NAME])]:
        assert _refused(_sign_up(client, password), reasons), password
    assert _sign_up(client, "correct horse battery staple").status_code == 200


def test_the_weak_passwords_are_refused_on_the_link_page(client, db):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.OFFICER, username="officer.wang2026")
    sign_in(client, admin.username)
    page = client.post(f"/admin/users/{user.id}/password-reset", data={"csrf_token": csrf_token(client, "/admin/")})
    path = LINK.search(text(page)).group(1)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/admin/")})
    for password, reasons in [*WEAK, ("officer.wang2026", [NAME])]:  # the name: the use case's check
        assert _refused(_submit_link_page(client, path, password), reasons), password
    db.session.refresh(user)
    assert check_password(user, "correct horse battery")  # nothing was set
    assert _submit_link_page(client, path).status_code == 302


def test_the_weak_passwords_are_refused_when_an_admin_creates_an_account(client, db):
    sign_in(client, make_user(Role.ADMIN).username)
    for password, reasons in [*WEAK, ("li.hua.officer", [NAME])]:
        token = csrf_token(client, "/admin/users")
        response = client.post("/admin/users", data={
            "csrf_token": token, "username": "li.hua.officer", "display_name": "李华", "role": "officer",
            "password": password})
        assert _refused(response, reasons), password
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "li.hua.officer")) == 0


def _change(client, current: str, new: str, confirm: str | None = None):
    return client.post("/auth/password/change", data={
        "csrf_token": csrf_token(client, "/auth/password/change"), "current": current, "password": new,
        "confirm": confirm or new})


def test_change_password_needs_the_current_one_refuses_weak_ones_and_ends_the_other_sessions(app, client, db):
    user = make_user(Role.APPLICANT, display_name="Zhang Jianguo")
    other = app.test_client()  # another browser of the same user
    sign_in(other, user.username)
    sign_in(client, user.username)
    assert client.get("/auth/password/change").status_code == 200
    for password, reasons in WEAK:
        assert _refused(_change(client, "correct horse battery", password), reasons), password
    by_name = _change(client, "correct horse battery", "jianguo likes tea")  # the name: the use case's check
    assert by_name.status_code == 422 and NAME in text(by_name)
    wrong = _change(client, "not my password at all", NEW)
    assert wrong.status_code == 422 and "当前密码不正确" in text(wrong)
    assert other.get("/portal/").status_code == 200  # nothing changed yet
    assert _change(client, "correct horse battery", NEW).status_code == 302
    assert client.get("/portal/").status_code == 200  # this session stays
    assert other.get("/portal/").status_code == 302  # the other one ended
    db.session.refresh(user)
    assert check_password(user, NEW)


def test_change_password_is_for_signed_in_users(client, db):
    assert client.get("/auth/password/change").status_code == 302


# ---------------------------------------------------------------------------------------
# "Forgot password?": the whole recovery through a real SMTP server
# ---------------------------------------------------------------------------------------

def test_the_whole_recovery_by_mail_works_once(app, client, db, production_like):
    user = make_user(Role.APPLICANT, email="zhao.lei@example.cn")
    elsewhere = app.test_client()
    sign_in(elsewhere, user.username)  # a session somewhere, perhaps a thief's
    sign_in_page = text(client.get("/auth/sign-in"))
    assert 'href="/auth/password/forgot"' in sign_in_page and "忘记密码？" in sign_in_page

    answer = client.post("/auth/password/forgot", data={
        "csrf_token": csrf_token(client, "/auth/password/forgot"), "login": "Zhao.Lei@example.cn"})
    assert answer.status_code == 200 and "设置新密码的链接已发往该账户的邮箱" in text(answer)
    (notice,) = db.session.scalars(select(Notification).where(Notification.template == "password_reset_link"))
    assert dispatch_pending().sent == 1
    path, token = _mail_link(production_like)
    db.session.refresh(notice)
    assert token not in str(notice.payload)  # the outbox row never held it
    assert elsewhere.get("/portal/").status_code == 200  # asking ends nothing: anyone may ask

    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    assert f'value="{token}"' in text(page) and 'action="/auth/password/new"' in text(page)
    assert client.get(path).status_code == 200  # opening the link uses nothing up

    done = _submit_link_page(client, path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/auth/sign-in")
    assert elsewhere.get("/portal/").status_code == 302  # every session of the account ended
    assert sign_in(client, user.username, NEW).status_code == 302

    again = client.post("/auth/password/new", data={
        "csrf_token": csrf_token(client, "/portal/"), "token": token, "password": NEW + "!", "confirm": NEW + "!"})
    assert again.status_code == 410  # used up
    assert client.get(path).status_code == 410
    db.session.refresh(user)
    assert check_password(user, NEW)


def _forgot(client, login: str):
    return client.post("/auth/password/forgot", data={
        "csrf_token": csrf_token(client, "/auth/password/forgot"), "login": login})


def test_the_answer_is_the_same_whoever_is_asked_for_and_only_a_known_address_gets_mail(client, db,
                                                                                         production_like):
    make_user(Role.APPLICANT, email="known@example.cn")
    make_user(Role.OFFICER, username="officer.no.address")
    make_user(Role.APPLICANT, email="deactivated@example.cn", is_active=False)
    bodies, statuses = set(), set()
    for login in ("known@example.cn", "nobody@example.cn", "officer.no.address", "deactivated@example.cn",
                  "not even an address"):
        response = _forgot(client, login)
        statuses.add(response.status_code)
        bodies.add(_CSRF.sub(r"\1", text(response)).replace(login, ""))
    assert statuses == {200} and len(bodies) == 1
    dispatch_pending()
    assert [rcpt for rcpt, _m in production_like.messages] == [["known@example.cn"]]
    assert db.session.scalar(select(func.count()).select_from(PasswordReset)) == 1


def test_without_a_mail_service_the_page_says_to_ask_an_administrator(client, db):
    page = client.get("/auth/password/forgot")
    assert page.status_code == 200 and "请联系管理员" in text(page) and 'name="login"' not in text(page)
    assert _forgot_without_page(client).status_code == 503


def _forgot_without_page(client):
    return client.post("/auth/password/forgot", data={"csrf_token": csrf_token(client, "/auth/sign-in"),
                                                      "login": "x@example.cn"})


def test_an_admins_link_goes_by_mail_and_is_not_shown(client, db, production_like):
    user = make_user(Role.OFFICER, email="officer.mail@example.cn")
    sign_in(client, make_user(Role.ADMIN).username)
    response = client.post(f"/admin/users/{user.id}/password-reset",
                           data={"csrf_token": csrf_token(client, "/admin/users")})
    assert response.status_code == 302
    assert not re.search(r"/auth/password/[A-Za-z0-9_-]{40}", text(client.get(response.headers["Location"])))
    dispatch_pending()
    path, _token = _mail_link(production_like)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/admin/")})
    assert _submit_link_page(client, path).status_code == 302


def test_a_reloaded_link_page_says_the_link_is_not_kept(client, db):
    page = client.get("/auth/password/new")  # the address the page's script puts in the bar
    assert page.status_code == 200 and "本页面不保留链接" in text(page)
    assert client.post("/auth/password/new", data={"csrf_token": csrf_token(client, "/auth/sign-in")}).status_code == 404


# ---------------------------------------------------------------------------------------
# The token in no log: a real server, its request log captured
# ---------------------------------------------------------------------------------------

class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def served(committed_app):
    """The application on a real development server (werkzeug), its request log captured."""
    lines = _Lines()
    logger = logging.getLogger("werkzeug")
    logger.addHandler(lines)
    saved_level = logger.level
    logger.setLevel(logging.INFO)
    server = make_server("127.0.0.1", 0, committed_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", lines, committed_app
    finally:
        server.shutdown()
        thread.join(5)
        logger.removeHandler(lines)
        logger.setLevel(saved_level)


def _browser_form(session: requests.Session, base: str, path: str, **fields) -> requests.Response:
    """GET a page and send its first form as a browser would: to its action, hidden fields and all."""
    page = session.get(base + path, allow_redirects=False)
    assert page.status_code == 200, (path, page.status_code)
    form_tag = re.search(r"<form[^>]*>", page.text).group(0)
    body = re.search(r"<form[^>]*>(.*?)</form>", page.text, re.S).group(1)
    hidden = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"', body))
    hidden.update(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', body))
    action = re.search(r'action="([^"]*)"', form_tag)
    target = unescape(action.group(1)) if action and action.group(1) else path
    return session.post(base + target, data={**hidden, **fields}, allow_redirects=False)


def test_neither_link_token_reaches_the_request_log(served):
    base, log, app = served
    with app.app_context():
        admin, officer = make_user(Role.ADMIN), make_user(Role.OFFICER)
        names = admin.username, officer.username, officer.id
        _db.session.commit()
    admin_name, officer_name, officer_id = names

    as_admin = requests.Session()
    assert _browser_form(as_admin, base, "/auth/sign-in", username=admin_name,
                         password="correct horse battery").status_code == 302
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', as_admin.get(base + "/admin/users").text).group(1)
    page = as_admin.post(f"{base}/admin/users/{officer_id}/password-reset", data={"csrf_token": csrf})
    password_link = re.search(r'value="http://127\.0\.0\.1:\d+(/auth/password/([A-Za-z0-9_-]{40,}))"', page.text)
    path, password_token = password_link.group(1), password_link.group(2)

    stranger = requests.Session()
    assert _browser_form(stranger, base, path, password=NEW, confirm=NEW).status_code == 302
    assert _browser_form(stranger, base, "/auth/sign-in", username=officer_name, password=NEW).status_code == 302

    applicant = requests.Session()  # sign-up: the demo shows its link on the page
    sent = _browser_form(applicant, base, "/auth/sign-up", kind="legal", identifier=uscc(),
                         subject_name="日志测试有限公司", email="log.test@example.cn", password=NEW, confirm=NEW)
    sign_up = re.search(r"http://127\.0\.0\.1:\d+(/auth/sign-up/([A-Za-z0-9_-]{40,}))", sent.text)
    assert _browser_form(applicant, base, sign_up.group(1)).status_code == 302
    sign_up_token = sign_up.group(2)

    time.sleep(0.2)  # the server logs after it answers
    logged = "\n".join(log.lines)
    assert password_token not in logged and sign_up_token not in logged
    assert "/auth/password/[token]" in logged and "/auth/sign-up/[token]" in logged  # the requests are there


def test_the_filter_blanks_only_the_token():
    assert redact('"GET /auth/password/abcDEF123_- HTTP/1.1" 200') == '"GET /auth/password/[token] HTTP/1.1" 200'
    assert redact("POST /auth/sign-up/x-y_z?next=/ 302") == "POST /auth/sign-up/[token]?next=/ 302"
    for path in ("/auth/password/forgot", "/auth/password/new", "/auth/password/change", "/auth/sign-up"):
        assert redact(f"GET {path} HTTP/1.1") == f"GET {path} HTTP/1.1"
    assert redact("GET /auth/password/newer-token HTTP/1.1") == "GET /auth/password/[token] HTTP/1.1"


@pytest.mark.slow
def test_gunicorns_access_log_has_no_token(committed_app, tmp_path):
    """gunicorn's own access log (its logger does not propagate): a link's GET, the token blanked."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PATH": "/usr/bin:/bin", "CASEDESK_ENV": "development", "CASEDESK_INSTANCE": str(tmp_path),
           "DATABASE_URL": committed_app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x" * 40}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = tmp_path / "access.log"
    server = subprocess.Popen([str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "--access-logfile", str(log),
                               "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    token = "Zm9vYmFyLXRoaXMtaXMtbm90LWEtcmVhbC10b2tlbi1hdC1hbGw"
    try:
        for _ in range(100):
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/auth/password/{token}", timeout=30)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer.status_code == 404
        time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(10)
    written = log.read_text()
    assert token not in written
    assert "/auth/password/[token]" in written


def test_the_sign_up_link_page_sends_no_referrer(client, db):
    response = _sign_up(client, NEW, email="ref@example.cn", subject_name="引荐测试有限公司")
    path = re.search(r"http://casedesk\.test(/auth/sign-up/[A-Za-z0-9_-]+)", text(response)).group(1)
    assert client.get(path).headers["Referrer-Policy"] == "no-referrer"
