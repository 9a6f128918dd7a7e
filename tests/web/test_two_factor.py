"""Two factors for staff (issue 13), through the web as a person (or an attacker) uses it:
enrolment by QR code (read back with a real decoder), the code after the password, wrong,
replayed and used-up codes, staff sent to enrolment while it is required, applicants not asked,
the server-side count of wrong codes, and the admin's audited reset.

The codes are made with pyotp directly, at the frozen clock's time; the wrapper in the app is
held to RFC 6238's vectors in tests/unit/test_totp_vectors.py."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
import zxingcpp
from sqlalchemy import select

from app import clock
from app.models import AdminAudit, RecoveryCode, TwoFactor, TwoFactorChallenge, UserSession
from app.models.enums import Role
from app.services import accounts
from tests.factories import make_user
from tests.web.helpers import csrf_token, sign_in, text

PENDING = "two_factor_pending"
CODE_PAGE, ENROL_PAGE = "/auth/two-factor/code", "/auth/two-factor/enrol"


@pytest.fixture
def required(app):
    """TWO_FACTOR_REQUIRED_FOR_STAFF on, as in production."""
    app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] = True
    try:
        yield
    finally:
        app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] = False


def code(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30 * offset))


def enrolled(user) -> tuple[str, list[str]]:
    """Enrol ``user`` through the services: its secret and recovery codes."""
    secret = accounts.prepare_enrolment(user.id).secret
    return secret, accounts.confirm_enrolment(user.id, code(secret, offset=-1))  # that step is used now


def send_code(client, value: str):
    return client.post(CODE_PAGE, data={"csrf_token": csrf_token(client, CODE_PAGE), "code": value})


def signed_in_id(client):
    with client.session_transaction() as session:
        return session.get("_user_id")


def live_sessions(db, user) -> list[UserSession]:
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                             UserSession.ended_at.is_(None))))


def read_qr(page: str) -> str:
    """The text of the page's QR code: its SVG (a data URI) drawn module by module into a
    grayscale bitmap, read by zxing-cpp."""
    uri = re.search(r'<img src="(data:image/svg\+xml[^"]+)"', page).group(1)
    svg = unquote(uri.partition(",")[2])
    width = int(re.search(r"width=['\"](\d+)", svg).group(1))
    scale = int(re.search(r"scale\((\d+)\)", svg).group(1))
    path = re.search(r" d=['\"]([^'\"]+)", svg).group(1)
    size = width // scale
    dark = set()
    x = y = 0.0
    tokens = re.findall(r"[Mmh]|-?\d+(?:\.\d+)?", path)
    i = 0
    while i < len(tokens):
        command = tokens[i]
        if command in "Mm":
            dx, dy = float(tokens[i + 1]), float(tokens[i + 2])
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
            i += 3
        else:  # h: a run of dark modules on row y
            length = float(tokens[i + 1])
            dark |= {(int(x) + k, int(y)) for k in range(int(length))}
            x += length
            i += 2
    zoom = 4
    pixels = bytes(0 if (col // zoom, row // zoom) in dark else 255
                   for row in range(size * zoom) for col in range(size * zoom))
    found = zxingcpp.read_barcode(memoryview(pixels).cast("B", (size * zoom, size * zoom)))
    assert found is not None, "the QR code does not read"
    return found.text


def test_enrolment_by_qr_code_then_every_sign_in_asks_for_the_code(client, db, frozen):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    page = client.get(ENROL_PAGE)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    uri = urlsplit(read_qr(text(page)))
    query = {k: v[0] for k, v in parse_qs(uri.query).items()}
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp") and unquote(uri.path).endswith(f":{officer.username}")
    secret = query["secret"]
    shown = re.search(r'class="secret" readonly value="([A-Z2-7 ]+)"', text(page)).group(1)
    assert shown.replace(" ", "") == secret  # the same key as text, for typing by hand
    factor = db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == officer.id))
    assert factor.enabled_at is None and secret not in factor.secret  # encrypted at rest
    assert text(client.get(ENROL_PAGE)).count(shown) == 1  # a reload shows the same key

    token = csrf_token(client, ENROL_PAGE)
    wrong = client.post(ENROL_PAGE, data={"csrf_token": token, "code": "000000" if code(secret) != "000000" else "111111"})
    assert wrong.status_code == 422 and "验证码不正确" in text(wrong)
    assert db.session.get(TwoFactor, factor.id).enabled_at is None  # not on before a code confirmed it

    done = client.post(ENROL_PAGE, data={"csrf_token": token, "code": code(secret)})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    shown_codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", text(done))
    assert len(shown_codes) == 10 and len(set(shown_codes)) == 10
    stored = list(db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == officer.id)))
    assert len(stored) == 10 and not {row.code_hash for row in stored} & set(shown_codes)
    assert [s.strength for s in live_sessions(db, officer)] == ["totp"]  # this session has its second factor

    # The page's own forms work in the session the enrolment began (the sign-out button, here).
    page_token = re.search(r'name="csrf_token" value="([^"]+)"', text(done)).group(1)
    assert client.post("/auth/sign-out", data={"csrf_token": page_token}).status_code == 302
    response = sign_in(client, officer.username)
    assert response.status_code == 302 and response.headers["Location"].endswith(CODE_PAGE)


def test_an_enrolled_officer_signs_in_with_password_and_code(app, client, db, frozen):
    officer = make_user(Role.OFFICER)
    secret, _codes = enrolled(officer)
    frozen.advance(timedelta(seconds=60))
    response = sign_in(client, officer.username)
    assert response.status_code == 302 and response.headers["Location"].endswith(CODE_PAGE)
    with client.session_transaction() as session:  # a pending marker only: nobody is signed in
        assert "_user_id" not in session and set(session[PENDING]) == {"id", "token", "next"}
    assert client.get("/desk/").status_code == 302 and live_sessions(db, officer) == []
    assert "验证码" in text(client.get(CODE_PAGE))
    token = csrf_token(client, CODE_PAGE)
    with client.session_transaction() as session:
        pending_cookie = dict(session)

    done = client.post(CODE_PAGE, data={"csrf_token": token, "code": code(secret)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/desk/")
    assert client.get("/desk/").status_code == 200
    assert [s.strength for s in live_sessions(db, officer)] == ["totp"]
    with client.session_transaction() as session:
        assert PENDING not in session

    other = app.test_client()  # the pending cookie, copied before the code: it signs in nobody else
    with other.session_transaction() as session:
        session.update(pending_cookie)
    frozen.advance(timedelta(seconds=30))
    again = other.post(CODE_PAGE, data={"csrf_token": token, "code": code(secret)})
    assert again.status_code == 302 and again.headers["Location"].endswith("/auth/sign-in")
    assert len(live_sessions(db, officer)) == 1


def test_a_wrong_code_is_refused_and_five_end_the_sign_in_whatever_the_cookie(client, db, frozen):
    officer = make_user(Role.OFFICER)
    secret, _codes = enrolled(officer)
    frozen.advance(timedelta(seconds=60))
    sign_in(client, officer.username)
    token = csrf_token(client, CODE_PAGE)
    with client.session_transaction() as session:
        before = dict(session)  # the cookie as it was before the wrong codes
    wrong = "123456" if code(secret) != "123456" else "654321"
    for left in (4, 3, 2, 1):
        response = send_code(client, wrong)
        assert response.status_code == 422 and f"还可尝试 {left} 次" in text(response)
        assert signed_in_id(client) is None
    last = send_code(client, wrong)
    assert last.status_code == 429 and "错误次数过多" in text(last)

    def replay_older_cookie():
        with client.session_transaction() as session:
            session.clear()
            session.update(before)

    replay_older_cookie()  # resets nothing: the tries are counted on the server
    response = client.post(CODE_PAGE, data={"csrf_token": token, "code": code(secret)})
    assert response.status_code == 429 and signed_in_id(client) is None and live_sessions(db, officer) == []
    replay_older_cookie()
    response = client.get(CODE_PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/sign-in")
    assert db.session.scalar(select(TwoFactorChallenge.attempts).where(TwoFactorChallenge.user_id == officer.id)) == 5


def test_a_code_is_accepted_once(client, db, frozen):
    officer = make_user(Role.OFFICER)
    secret, _codes = enrolled(officer)
    frozen.advance(timedelta(seconds=60))
    sign_in(client, officer.username)
    assert send_code(client, code(secret)).status_code == 302
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})

    sign_in(client, officer.username)
    replayed = send_code(client, code(secret))  # the same code, in the same 30 seconds
    assert replayed.status_code == 422 and "已经用过" in text(replayed)
    assert send_code(client, code(secret, offset=-1)).status_code == 422  # an older step is no better
    assert signed_in_id(client) is None
    frozen.advance(timedelta(seconds=30))
    assert send_code(client, code(secret)).status_code == 302  # the next code is


def test_a_recovery_code_signs_in_once(client, db, frozen):
    officer = make_user(Role.OFFICER)
    _secret, codes = enrolled(officer)
    sign_in(client, officer.username)
    response = send_code(client, codes[3].upper().replace("-", " "))  # as people copy it from paper
    assert response.status_code == 302
    assert [s.strength for s in live_sessions(db, officer)] == ["recovery"]
    assert "还剩 9 个" in text(client.get("/desk/"))
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})

    sign_in(client, officer.username)
    used = send_code(client, codes[3])
    assert used.status_code == 422 and "恢复码不正确" in text(used) and signed_in_id(client) is None
    assert send_code(client, codes[4]).status_code == 302


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.DEPARTMENT, Role.ADMIN])
def test_staff_without_a_second_factor_are_taken_to_enrolment_when_it_is_required(client, db, frozen, required, role):
    user = make_user(role)
    response = sign_in(client, user.username)
    assert response.status_code == 302 and response.headers["Location"].endswith(ENROL_PAGE)
    assert signed_in_id(client) is None and live_sessions(db, user) == []
    assert client.get("/desk/").status_code == 302  # no staff page before the enrolment
    page = client.get(ENROL_PAGE)
    secret = parse_qs(urlsplit(read_qr(text(page))).query)["secret"][0]
    done = client.post(ENROL_PAGE, data={"csrf_token": csrf_token(client, ENROL_PAGE), "code": code(secret)})
    assert done.status_code == 200 and len(re.findall(r"<li><code>", text(done))) == 10
    assert [s.strength for s in live_sessions(db, user)] == ["totp"]
    home = {"officer": "/desk/", "supervisor": "/desk/dashboard", "department": "/dept/", "admin": "/admin/"}[role]
    assert f'href="{home}"' in text(done) and client.get(home).status_code == 200


def test_without_the_requirement_staff_who_have_not_enrolled_sign_in_with_the_password(client, db):
    officer = make_user(Role.OFFICER)
    response = sign_in(client, officer.username)
    assert response.status_code == 302 and response.headers["Location"].endswith("/desk/")
    assert [s.strength for s in live_sessions(db, officer)] == ["password"]


def test_a_staff_session_without_a_second_factor_reaches_no_page_once_it_is_required(client, app, db, frozen):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)  # not required yet: the password was enough
    assert client.get("/desk/").status_code == 200
    app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] = True
    try:
        response = client.get("/desk/")
        assert response.status_code == 302 and response.headers["Location"].endswith(ENROL_PAGE)
        assert live_sessions(db, officer) == [] and signed_in_id(client) is None
        with client.session_transaction() as session:
            assert session[PENDING]["next"] == "/desk/"
    finally:
        app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] = False


def test_applicants_are_not_asked(client, db, required):
    applicant = make_user(Role.APPLICANT)
    response = sign_in(client, applicant.username)
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")
    assert client.get("/portal/").status_code == 200
    assert [s.strength for s in live_sessions(db, applicant)] == ["password"]
    assert client.get(ENROL_PAGE).headers["Location"].endswith("/portal/")  # nothing to set up


def test_the_pending_sign_in_expires(client, db, frozen):
    officer = make_user(Role.OFFICER)
    secret, _codes = enrolled(officer)
    sign_in(client, officer.username)
    token = csrf_token(client, CODE_PAGE)
    frozen.advance(timedelta(minutes=6))
    response = client.post(CODE_PAGE, data={"csrf_token": token, "code": code(secret)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/sign-in")
    assert signed_in_id(client) is None
    assert "已过期" in text(client.get("/auth/sign-in"))


def test_the_code_page_without_a_pending_sign_in_sends_to_the_sign_in(client):
    response = client.get(CODE_PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/sign-in")
    with client.session_transaction() as session:
        session[PENDING] = {"id": 999999, "token": "forged", "next": ""}
    assert client.get(CODE_PAGE).status_code == 302


def test_new_recovery_codes_for_a_current_code(client, db, frozen):
    officer = make_user(Role.OFFICER)
    secret, old = enrolled(officer)
    frozen.advance(timedelta(seconds=60))
    sign_in(client, officer.username)
    send_code(client, code(secret))
    assert "剩余恢复码：10" in text(client.get("/auth/two-factor/"))
    token = csrf_token(client, "/auth/two-factor/")
    refused = client.post("/auth/two-factor/recovery-codes", data={"csrf_token": token, "code": code(secret)})
    assert refused.status_code == 422  # the code that signed in was used
    frozen.advance(timedelta(seconds=30))
    renewed = client.post("/auth/two-factor/recovery-codes", data={"csrf_token": token, "code": code(secret)})
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", text(renewed))
    assert renewed.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})
    sign_in(client, officer.username)
    assert send_code(client, old[0]).status_code == 422  # the old ones stopped working
    assert send_code(client, new[0]).status_code == 302


def test_an_admin_resets_a_second_factor_with_a_reason_audited_and_the_user_signed_out(app, client, db, frozen):
    officer = make_user(Role.OFFICER)
    secret, _codes = enrolled(officer)
    frozen.advance(timedelta(seconds=60))
    officer_client = app.test_client()
    sign_in(officer_client, officer.username)
    send_code(officer_client, code(secret))
    assert officer_client.get("/desk/").status_code == 200

    admin = make_user(Role.ADMIN)
    admin_secret, _ = enrolled(admin)
    frozen.advance(timedelta(seconds=30))
    sign_in(client, admin.username)
    send_code(client, code(admin_secret))
    path = f"/admin/users/{officer.id}/two-factor"
    assert "剩余恢复码：10" in text(client.get(path))
    token = csrf_token(client, path)
    no_reason = client.post(path, data={"csrf_token": token, "reason": ""})
    assert no_reason.status_code == 422 and db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == officer.id))
    response = client.post(path, data={"csrf_token": token, "reason": "手机丢失，本人电话确认"})
    assert response.status_code == 302
    assert db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == officer.id)) is None
    assert list(db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == officer.id))) == []
    entry = db.session.scalar(select(AdminAudit).where(AdminAudit.action == "user.two_factor_reset"))
    assert entry.actor_id == admin.id and entry.object_id == officer.id
    assert entry.after["reason"] == "手机丢失，本人电话确认" and entry.before["recovery_codes_left"] == 10
    assert entry.after["sessions_ended"] == 1
    assert officer_client.get("/desk/").status_code == 302  # its session ended
    assert client.post(path, data={"csrf_token": token, "reason": "again, nothing left"}).status_code == 409
    assert client.get("/admin/users/999999/two-factor").status_code == 404

    app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] = True
    try:  # the next sign-in sets it up again
        response = sign_in(officer_client, officer.username)
        assert response.headers["Location"].endswith(ENROL_PAGE)
    finally:
        app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] = False


def test_only_an_admin_resets_a_second_factor(client, db):
    officer = make_user(Role.OFFICER)
    supervisor = make_user(Role.SUPERVISOR)
    sign_in(client, supervisor.username)
    assert client.get(f"/admin/users/{officer.id}/two-factor").status_code == 403


def test_rounds_of_wrong_codes_make_the_next_sign_in_wait_longer(client, db, frozen):
    """Someone with the password cannot try codes without end by signing in again: each round of
    five wrong codes doubles the wait (1, 2, 4 ... minutes); the right code starts afresh."""
    officer = make_user(Role.OFFICER)
    secret, _codes = enrolled(officer)
    wrong = "123456" if code(secret) != "123456" else "654321"

    def wrong_round():
        assert sign_in(client, officer.username).headers["Location"].endswith(CODE_PAGE)
        for _ in range(5):
            response = send_code(client, wrong)
        assert response.status_code == 429

    wrong_round()
    waiting = sign_in(client, officer.username)
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "60" and "1 分钟后再试" in text(waiting)
    assert signed_in_id(client) is None
    frozen.advance(timedelta(seconds=61))
    wrong_round()
    assert sign_in(client, officer.username).headers["Retry-After"] == "120"
    frozen.advance(timedelta(seconds=121))
    sign_in(client, officer.username)
    assert send_code(client, code(secret)).status_code == 302  # the owner is not locked out
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})
    frozen.advance(timedelta(seconds=30))
    assert sign_in(client, officer.username).headers["Location"].endswith(CODE_PAGE)  # no wait after a success


def test_the_operator_resets_the_sole_admins_second_factor_from_the_command_line(app, client, db, frozen):
    """The one admin lost both phone and recovery codes: no other admin can reset it, the
    operator can (``flask users reset-two-factor``), audited as the system, its sessions ended."""
    admin = make_user(Role.ADMIN)
    secret, _codes = enrolled(admin)
    frozen.advance(timedelta(seconds=60))
    sign_in(client, admin.username)
    send_code(client, code(secret))
    assert client.get("/admin/").status_code == 200
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["users", "reset-two-factor", "nobody", "--reason", "lost phone"])
    assert unknown.exit_code == 1 and "nobody" in unknown.output
    short = runner.invoke(args=["users", "reset-two-factor", admin.username, "--reason", "x"])
    assert short.exit_code == 1 and db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == admin.id))
    done = runner.invoke(args=["users", "reset-two-factor", admin.username, "--reason", "手机与恢复码均遗失"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == admin.id)) is None
    assert list(db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == admin.id))) == []
    entry = db.session.scalar(select(AdminAudit).where(AdminAudit.action == "user.two_factor_reset"))
    assert entry.actor_id is None and entry.object_id == admin.id and entry.after["reason"] == "手机与恢复码均遗失"
    assert entry.after["sessions_ended"] == 1
    assert client.get("/admin/").status_code == 302  # its session ended
