"""Sign-up tells nothing (issue 12): one answer for everyone, the link in the mail makes the account.

The form's answer is the same whether the address, the identifier or the name is known; what
happens then is told only to the address, by a real SMTP server here. The link's GET makes
nothing, its POST makes the account, the subject (its name only *claimed*) and the unverified
binding, once.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import func, select

from app import clock
from app.errors import Forbidden, Gone
from app.extensions import db as _db
from app.identifiers import validate
from app.models import Notification, SignUpRequest, Subject, SubjectBinding, User
from app.models.enums import BindingCapacity, Role, SubjectKind, SubjectNameSource
from app.services import signup
from app.services.admin.jobs import purge_job
from app.services.notices.dispatch import dispatch_pending
from tests.factories import id_number, make_subject, make_user, uscc
from tests.service import test_dispatch
from tests.web.helpers import csrf_token, sign_in, text

smtp = test_dispatch.smtp  # the real SMTP server on the loopback (aiosmtpd)

PASSWORD = "a long enough password"
_CSRF = re.compile(r'(name="csrf[-_]token"[^>]*value=")[^"]+|(<meta name="csrf-token" content=")[^"]+')
_LINK = re.compile(r"http://casedesk\.test/auth/sign-up/[A-Za-z0-9_-]+")


def _sign_up(client, **fields):
    data = {
        "kind": "legal", "identifier": uscc(), "subject_name": "上海新开贸易有限公司", "display_name": "王经理",
        "email": "wang@newco.example.cn", "password": PASSWORD, "confirm": PASSWORD,
        "csrf_token": csrf_token(client, "/auth/sign-up"),
    }
    data.update(fields)
    return client.post("/auth/sign-up", data=data)


def _counts(db) -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (User, Subject, SubjectBinding))


def _demo_link(response) -> str:
    match = _LINK.search(text(response))
    assert match, "no link in the demo box"
    return match.group(0)


def _path(link: str) -> str:
    return link.removeprefix("http://casedesk.test")


def _finish(client, link: str):
    path = _path(link)
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def _subject_of(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


@pytest.fixture
def production_like(app, smtp):
    """No demo, and a mail service: the situation a stranger meets."""
    app.config["DEMO_MODE"] = False
    try:
        yield smtp
    finally:
        app.config["DEMO_MODE"] = True


# ---------------------------------------------------------------------------------------
# The form: one answer
# ---------------------------------------------------------------------------------------

def test_the_answer_is_the_same_whatever_is_known(client, db, production_like):
    """A known company code under a wrong name, an unknown code, a taken address and a fresh one."""
    known = make_subject(name="上海已登记有限公司")
    make_user(Role.APPLICANT, username="taken@example.cn", subject=make_subject())
    before = _counts(db)
    walk = [
        {"identifier": known.identifier, "subject_name": "冒名顶替有限公司", "email": "a@example.cn"},
        {"identifier": uscc(), "subject_name": "不存在的公司", "email": "b@example.cn"},
        {"identifier": uscc(), "subject_name": "某公司", "email": "taken@example.cn"},
        {"identifier": known.identifier, "subject_name": "上海已登记有限公司", "email": "fresh@example.cn"},
    ]
    bodies, statuses = set(), set()
    for fields in walk:
        response = _sign_up(client, **fields)
        statuses.add(response.status_code)
        body = _CSRF.sub(lambda m: m.group(1) or m.group(2), text(response))
        for value in fields.values():
            body = body.replace(value, "")
        bodies.add(body)
    assert statuses == {200}
    assert len(bodies) == 1
    assert "如果该邮箱可以注册新账户" in bodies.pop()
    assert _counts(db) == before  # nothing exists before a link is used
    db.session.refresh(known)
    assert (known.name, known.name_source) == ("上海已登记有限公司", SubjectNameSource.DEPARTMENT)


def test_a_refused_form_says_what_is_wrong_with_the_form_only(client, db):
    for fields, message in [
        ({"email": "not-an-address"}, "格式不正确"),
        ({"email": ""}, "必填"),
        ({"confirm": "something else entirely"}, "两次输入的密码不一致"),
        ({"password": "short", "confirm": "short"}, "12"),
        ({"identifier": "91310101MA1FL0XX"}, "18"),
        ({"kind": "natural", "identifier": "110105199902300021"}, "出生日期"),
    ]:
        response = _sign_up(client, **fields)
        assert response.status_code == 422, fields
        assert message in text(response), fields
    assert db.session.scalar(select(func.count()).select_from(SignUpRequest)) == 0


# ---------------------------------------------------------------------------------------
# The mails, through a real SMTP server
# ---------------------------------------------------------------------------------------

def test_a_fresh_address_gets_the_link_and_a_taken_one_a_warning_once_an_hour(client, db, frozen, production_like):
    make_user(Role.APPLICANT, username="old-style-name", email="Taken@Example.cn")  # an older account's address
    _sign_up(client, email="Fresh@Example.cn")
    _sign_up(client, email="taken@example.cn")
    _sign_up(client, email="taken@example.cn")  # the same hour: no second warning
    dispatch_pending()
    by_address = {tuple(rcpt): message for rcpt, message in production_like.messages}
    assert set(by_address) == {("fresh@example.cn",), ("taken@example.cn",)}
    link_mail = by_address[("fresh@example.cn",)]
    assert _subject_of(link_mail) == "完成注册：信用主体账户"
    link = _LINK.search(link_mail.get_payload(decode=True).decode()).group(0)
    warning = by_address[("taken@example.cn",)].get_payload(decode=True).decode()
    assert "本邮箱已有账户" in warning and "http://casedesk.test/auth/sign-in" in warning and not _LINK.search(warning)
    # The link left the outbox once it was sent: reading the table gives nobody the account.
    sent = db.session.scalar(select(Notification).where(Notification.template == "sign_up_link"))
    assert sent.payload["link"] != link and sent.recipient_address == "fresh@example.cn"
    assert client.get(_path(link)).status_code == 200  # the mailed link works

    frozen.advance(timedelta(hours=1))
    _sign_up(client, email="taken@example.cn")
    dispatch_pending()
    assert [rcpt for rcpt, _ in production_like.messages].count(["taken@example.cn"]) == 2


def test_the_mail_speaks_the_language_of_the_form(client, db, production_like):
    client.get("/auth/language/en")
    _sign_up(client, email="en@example.cn")
    dispatch_pending()
    assert _subject_of(production_like.messages[0][1]) == "Finish your sign-up"


# ---------------------------------------------------------------------------------------
# The link
# ---------------------------------------------------------------------------------------

def test_the_link_shows_the_sign_up_and_its_get_makes_nothing(client, db):
    ident = id_number(birth="19851203")
    link = _demo_link(_sign_up(client, kind="natural", identifier=ident, subject_name="刘洋", email="liu@example.cn"))
    before = _counts(db)
    page = client.get(_path(link))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "liu@example.cn" in text(page) and "310101********" in text(page) and ident not in text(page)
    assert _counts(db) == before


def test_the_button_makes_the_account_its_new_subject_and_an_unverified_binding(client, db):
    ident = id_number(birth="19851203")
    link = _demo_link(_sign_up(client, kind="natural", identifier=ident, subject_name="刘洋", email="Liu@Example.cn",
                               display_name=""))
    response = _finish(client, link)
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/binding")
    user = db.session.scalar(select(User).where(User.username == "liu@example.cn"))
    assert (user.role, user.email, user.display_name) == (Role.APPLICANT, "liu@example.cn", "刘洋")
    subject = user.subject
    assert (subject.identifier, subject.kind, subject.name) == (ident, SubjectKind.NATURAL, "刘洋")
    assert subject.name_source == SubjectNameSource.CLAIMED and subject.birth_date.isoformat() == "1985-12-03"
    binding = db.session.scalar(select(SubjectBinding).where(SubjectBinding.user_id == user.id))
    assert (binding.state, binding.claimed_name, binding.capacity) == ("unverified", "刘洋", BindingCapacity.SELF)
    request = db.session.scalar(select(SignUpRequest).where(SignUpRequest.email == "liu@example.cn"))
    assert request.used_at is not None and request.user_id == user.id
    assert request.password_hash == user.password_hash and PASSWORD not in request.password_hash
    # Signed in, and not verified: only the binding page.
    assert client.get("/portal/binding").status_code == 200
    assert client.get("/portal/").headers["Location"].endswith("/portal/binding")
    # Later, the address and the password sign in.
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/portal/binding")})
    assert sign_in(client, "LIU@example.cn", PASSWORD).status_code == 302


def test_a_known_subject_is_never_renamed_by_a_sign_up(client, db):
    known = make_subject(name="上海已登记有限公司")
    link = _demo_link(_sign_up(client, identifier=known.identifier, subject_name="冒名顶替有限公司", email="x@example.cn"))
    assert _finish(client, link).status_code == 302
    db.session.refresh(known)
    assert (known.name, known.name_source) == ("上海已登记有限公司", SubjectNameSource.DEPARTMENT)
    user = db.session.scalar(select(User).where(User.username == "x@example.cn"))
    binding = db.session.scalar(select(SubjectBinding).where(SubjectBinding.user_id == user.id))
    assert user.subject_id == known.id
    assert (binding.claimed_name, binding.capacity) == ("冒名顶替有限公司", BindingCapacity.LEGAL_REPRESENTATIVE)


def test_a_link_works_once(client, db):
    link = _demo_link(_sign_up(client))
    assert _finish(client, link).status_code == 302
    again = _finish(client, link)
    assert again.status_code == 410 and "已失效或已使用" in text(again)
    assert client.get(_path(link)).status_code == 410
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "wang@newco.example.cn")) == 1


def test_a_link_expires_after_a_day(client, db, frozen):
    link = _demo_link(_sign_up(client))
    frozen.advance(timedelta(hours=23, minutes=59))
    assert client.get(_path(link)).status_code == 200
    token = csrf_token(client, _path(link))
    frozen.advance(timedelta(minutes=1))
    assert client.get(_path(link)).status_code == 410
    assert client.post(_path(link), data={"csrf_token": token}).status_code == 410
    assert db.session.scalar(select(User).where(User.username == "wang@newco.example.cn")) is None


def test_an_unknown_link_is_not_found(client):
    response = client.get("/auth/sign-up/not-a-token")
    assert response.status_code == 404 and "注册链接无效" in text(response)


def test_a_link_for_an_address_that_got_an_account_meanwhile_is_gone(client, db):
    first = _demo_link(_sign_up(client))
    second = _demo_link(_sign_up(client))  # the same address asked twice: two links
    assert _finish(client, first).status_code == 302
    assert _finish(client, second).status_code == 410


def test_the_button_needs_its_security_token(client, db):
    link = _demo_link(_sign_up(client))
    assert client.post(_path(link)).status_code == 400
    assert db.session.scalar(select(User).where(User.username == "wang@newco.example.cn")) is None


@pytest.mark.parametrize(("case", "emails", "expected"), [
    ("one link twice", ["race@example.cn"], ["gone", "made"]),
    ("two links of one address", ["race@example.cn", "race@example.cn"], ["gone", "made"]),
    ("two addresses, one new subject", ["one@example.cn", "two@example.cn"], ["made", "made"]),
])
def test_two_uses_at_the_same_moment(committed_app, case, emails, expected):
    """Two requests in threads, each with its own connection and transaction (PostgreSQL and SQLite):
    one account per address, one subject per identifier, however the commits fall."""
    identifier = validate(uscc(), SubjectKind.LEGAL)
    tokens = []
    with committed_app.app_context():
        for email in emails:
            details = signup.SignUpDetails(email=email, password=PASSWORD, display_name="", identifier=identifier,
                                           subject_name="竞速有限公司")
            signup.request_sign_up(details, link_for=tokens.append, sign_in_link="/auth/sign-in")
        _db.session.remove()
    tokens = tokens * 2 if len(tokens) == 1 else tokens
    barrier = threading.Barrier(2)
    outcomes = []

    def finish(token):
        with committed_app.app_context():
            try:
                signup.find_sign_up(token)  # both saw the link open before either uses it
                _db.session.commit()  # and let go of SQLite's lock (BEGIN IMMEDIATE) meanwhile
                barrier.wait(timeout=10)
                signup.finish_sign_up(token)
                outcomes.append("made")
            except Gone:
                outcomes.append("gone")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=finish, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == expected
    with committed_app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(User)) == len(set(emails))
        assert _db.session.scalar(select(func.count()).select_from(Subject)) == 1
        bindings = _db.session.scalars(select(SubjectBinding)).all()
        assert len(bindings) == len(set(emails)) and {b.state for b in bindings} == {"unverified"}


# ---------------------------------------------------------------------------------------
# Without a mail service
# ---------------------------------------------------------------------------------------

def test_the_demo_shows_the_mail_in_a_box_marked_as_the_demos(client, db):
    make_user(Role.OFFICER, username="taken@example.cn")
    fresh = text(_sign_up(client, email="fresh@example.cn"))
    assert "演示模式：未配置邮件服务，这是邮件中的链接" in fresh and _LINK.search(fresh)
    taken = text(_sign_up(client, email="taken@example.cn"))
    assert "演示模式：未配置邮件服务，这是邮件的内容" in taken and "本邮箱已有账户" in taken and not _LINK.search(taken)


def test_no_demo_box_with_a_mail_service_or_outside_the_demo(app, client, db, smtp):
    assert "演示模式" not in text(_sign_up(client, email="demo-with-mail@example.cn"))  # demo, but mail is sent
    app.config["DEMO_MODE"] = False
    try:
        assert "演示模式" not in text(_sign_up(client, email="no-demo@example.cn"))
    finally:
        app.config["DEMO_MODE"] = True


def test_without_mail_and_outside_the_demo_sign_up_is_unavailable(app, client, db):
    token = csrf_token(client, "/auth/sign-up")
    app.config["DEMO_MODE"] = False
    try:
        page = client.get("/auth/sign-up")
        assert page.status_code == 503 and "本站暂不开放注册" in text(page)
        assert "/auth/oidc/login" not in text(page)
        posted = client.post("/auth/sign-up", data={"csrf_token": token, "email": "x@example.cn"})
        assert posted.status_code == 503
        app.config["OIDC_ISSUER"] = "https://id.example.gov.cn"
        assert "/auth/oidc/login" in text(client.get("/auth/sign-up"))
    finally:
        app.config.update(DEMO_MODE=True, OIDC_ISSUER=None)
    assert db.session.scalar(select(func.count()).select_from(SignUpRequest)) == 0


def test_the_service_itself_refuses_without_mail_and_outside_the_demo(app, db):
    app.config["DEMO_MODE"] = False
    try:
        with pytest.raises(Forbidden):
            signup.request_sign_up(signup.SignUpDetails(
                email="x@example.cn", password=PASSWORD, display_name="", identifier=validate(uscc(), "legal"),
                subject_name="某公司"), link_for=str, sign_in_link="/auth/sign-in")
    finally:
        app.config["DEMO_MODE"] = True
    assert db.session.scalar(select(func.count()).select_from(SignUpRequest)) == 0


def test_the_pages_are_in_english_too(client, db):
    client.get("/auth/language/en")
    sent = text(_sign_up(client))
    assert "If this address can be used for a new account" in sent
    assert "Demo mode: no mail service is configured" in sent
    page = text(client.get(_path(_demo_link(_sign_up(client)))))
    assert "Finish the sign-up" in page and "完成注册" not in page.split("<main")[1]


def test_the_purge_job_deletes_requests_long_used_or_lapsed_and_keeps_the_rest(db):
    """A request holds a password hash and an identifier: 30 days after it was used or lapsed it
    goes (the purge job); an open one, or one used or lapsed lately, stays."""
    identifier = validate(uscc(), SubjectKind.LEGAL)
    tokens: dict[str, str] = {}

    def ask(name: str) -> None:
        details = signup.SignUpDetails(email=f"{name}@example.cn", password=PASSWORD, display_name="",
                                       identifier=identifier, subject_name="清理测试有限公司")
        signup.request_sign_up(details, link_for=lambda token: tokens.setdefault(name, token),
                               sign_in_link="/auth/sign-in")

    with clock.frozen_clock(datetime(2026, 10, 1, 10, 0)) as frozen:
        ask("used-long-ago")
        signup.finish_sign_up(tokens["used-long-ago"])
        ask("lapsed-long-ago")  # its link lapsed on 2 October
        frozen.set(datetime(2026, 11, 1, 10, 0))
        ask("lapsed-lately")  # on 2 November
        frozen.set(datetime(2026, 11, 20, 10, 0))
        ask("used-lately")
        signup.finish_sign_up(tokens["used-lately"])
        ask("open")
        frozen.set(datetime(2026, 11, 21, 9, 0))  # 30 days back: 22 October
        result = purge_job()
    assert result.sign_up_requests == 2
    left = sorted(db.session.scalars(select(SignUpRequest.email)))
    assert left == ["lapsed-lately@example.cn", "open@example.cn", "used-lately@example.cn"]
    assert db.session.scalar(select(func.count()).select_from(User).where(
        User.username == "used-long-ago@example.cn")) == 1  # the account stays
