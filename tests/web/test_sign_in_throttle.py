"""Throttles that protect without locking people out (issue 13, item 4).

Per account, failures slow the next attempt down (exponential back-off with a cap) instead of
refusing the right password: before, five failures locked any account, admins included, for 15
minutes, and 20 from one address locked everyone behind it. Per address, Flask-Limiter counts
sign-in POSTs generously, with a clear 429 and Retry-After, on the client address the trusted
proxies give (ProxyFix)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db as _db
from app.extensions import limiter
from app.models import SignInAttempt
from app.models.enums import Role
from app.services.accounts.signin import backoff_delay
from app.web.sessions import DEVICE_COOKIE
from tests.factories import PASSWORD, make_user
from tests.web.helpers import csrf_token, sign_in, text

HIGH = "100000 per hour"


@pytest.fixture
def fresh_limits(app, monkeypatch):
    """Fresh Flask-Limiter counters before and after; ``set(...)`` lowers the sign-in limit."""

    def set_limit(value: str):
        monkeypatch.setitem(app.config, "SIGNIN_LIMIT_PER_ADDRESS", value)

    limiter.reset()
    yield set_limit
    limiter.reset()


def _failures(db, username: str) -> int:
    return db.session.scalar(select(func.count()).select_from(SignInAttempt)
                             .where(SignInAttempt.username == username, SignInAttempt.succeeded.is_(False)))


def test_the_delay_doubles_from_the_free_failures_up_to_the_cap(db):
    # Defaults: 3 failures free, then 2 s, 4 s, 8 s ... at most 300 s.
    assert [backoff_delay(n) for n in range(12)] == [0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff_delay(10_000) == 300


def test_the_formerly_locked_out_right_password_works_after_the_back_off(app, client, db, frozen):
    """An admin's account, guessed at every ten seconds for five minutes: before, the fifth failure
    locked it, the right password included, for 15 minutes. Now the guesser gets one try per
    wait, and the admin gets in after at most the cap, though the guessing goes on."""
    admin = make_user(Role.ADMIN)
    cap = app.config["SIGNIN_BACKOFF_CAP_SECONDS"]
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.66"
    answers = []
    for _ in range(30):
        answers.append(sign_in(guesser, admin.username, "a guess").status_code)
        frozen.advance(timedelta(seconds=10))
    assert set(answers) == {401, 429}
    assert answers.count(401) == _failures(db, admin.username) < 12  # only the tries after each wait count

    refused = sign_in(client, admin.username)  # during the wait even the right password is not tried
    assert refused.status_code == 429
    assert "登录失败次数过多" in text(refused)
    wait = int(refused.headers.get("Retry-After", cap))
    assert 0 < wait <= cap
    for _ in range(3):  # the guesser goes on meanwhile: refused, not counted, the wait does not grow
        assert sign_in(guesser, admin.username, "another guess").status_code == 429
    frozen.advance(timedelta(seconds=wait))
    assert sign_in(client, admin.username).status_code == 302


def test_a_browser_that_signed_in_before_is_not_slowed_by_guessing_elsewhere(app, client, db, frozen):
    officer = make_user(Role.OFFICER)
    assert sign_in(client, officer.username).status_code == 302
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})

    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.66"
    for _ in range(12):  # every ten seconds for two minutes
        sign_in(guesser, officer.username, "a guess")
        frozen.advance(timedelta(seconds=10))
    assert sign_in(guesser, officer.username).status_code == 429  # the guesser waits, the right password too
    assert sign_in(client, officer.username).status_code == 302  # the owner's browser does not
    assert client.get_cookie(DEVICE_COOKIE, domain="casedesk.test", path="/auth/") is not None


def test_a_device_cookie_does_not_buy_more_guesses(app, client, db, frozen):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})
    for _ in range(app.config["SIGNIN_BACKOFF_FREE_FAILURES"]):
        assert sign_in(client, officer.username, "typo").status_code == 401
    assert sign_in(client, officer.username, "typo").status_code == 429  # its own failures count
    frozen.advance(timedelta(seconds=backoff_delay(app.config["SIGNIN_BACKOFF_FREE_FAILURES"])))
    assert sign_in(client, officer.username).status_code == 302


def test_a_device_cookie_of_another_name_counts_as_none(app, client, db, frozen):
    mine, target = make_user(Role.OFFICER), make_user(Role.OFFICER)
    sign_in(client, mine.username)  # the guesser's own account gives its browser a device cookie
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})
    for _ in range(app.config["SIGNIN_BACKOFF_FREE_FAILURES"]):
        sign_in(client, target.username, "guess")
    assert sign_in(client, target.username, "guess").status_code == 429
    rows = db.session.scalars(select(SignInAttempt.device).where(SignInAttempt.username == target.username)).all()
    assert rows and all(device is None for device in rows)


def test_unknown_names_back_off_like_known_ones(client, db, frozen, app):
    known = make_user(Role.OFFICER)
    free = app.config["SIGNIN_BACKOFF_FREE_FAILURES"]
    for name in (known.username, "nobody-by-this-name"):
        for _ in range(free):
            assert sign_in(client, name, "guess").status_code == 401
        refused = sign_in(client, name, "guess")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"


def test_one_address_failing_for_many_names_locks_out_no_one_behind_it(client, db, fresh_limits):
    """Before, 20 failures from one address refused everyone behind it (an office, a proxy)."""
    for n in range(21):
        assert sign_in(client, f"someone-else-{n}", "wrong").status_code == 401
    colleague = make_user(Role.OFFICER)
    assert sign_in(client, colleague.username).status_code == 302


def test_a_sign_in_flood_gets_flask_limiters_429_with_retry_after(client, db, fresh_limits):
    fresh_limits("3 per minute")
    user = make_user(Role.OFFICER)
    for n in range(3):
        assert sign_in(client, f"flood-{n}", "wrong").status_code == 401
    refused = sign_in(client, user.username)
    assert refused.status_code == 429
    assert "请求过于频繁" in text(refused) and "请于" in text(refused)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/auth/sign-in").status_code == 200  # showing the form is not counted


def test_the_flood_refusal_is_in_english_for_an_english_reader(client, db, fresh_limits):
    fresh_limits("1 per minute")
    with client.session_transaction() as session:
        session["locale"] = "en"
    sign_in(client, "flood", "wrong")
    refused = sign_in(client, "flood", "wrong")
    assert refused.status_code == 429 and "Too many requests" in text(refused)


@pytest.fixture
def behind_one_proxy(app, database_url, tmp_path):
    """An application trusting one proxy, on the suite's (migrated) database, with a low limit."""
    proxied = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": str(tmp_path / "uploads"),
        "TRUSTED_PROXY_COUNT": 1, "SIGNIN_LIMIT_PER_ADDRESS": "3 per minute",
    })
    limiter.reset()
    yield proxied
    limiter.reset()
    with proxied.app_context():
        _db.engine.dispose()


def _proxied_sign_in(client, username, password, forwarded_for):
    headers = {"X-Forwarded-For": forwarded_for}
    page = client.get("/auth/sign-in", headers=headers)
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    return client.post("/auth/sign-in", data={"username": username, "password": password, "csrf_token": token},
                       headers=headers)


def test_behind_a_proxy_one_clients_flood_does_not_lock_out_the_others(behind_one_proxy, db):
    """Every request comes from the proxy's address; the limit counts the client it forwards for."""
    user = make_user(Role.OFFICER)
    flooder, colleague = behind_one_proxy.test_client(), behind_one_proxy.test_client()
    for n in range(3):
        assert _proxied_sign_in(flooder, f"flood-{n}", "wrong", "198.51.100.1").status_code == 401
    assert _proxied_sign_in(flooder, "flood-x", "wrong", "198.51.100.1").status_code == 429
    # A forged first entry does not move the flooder: the proxy's own (last) entry is believed.
    assert _proxied_sign_in(flooder, "flood-y", "wrong", "10.9.9.9, 198.51.100.1").status_code == 429
    # Another client behind the same proxy is not locked out.
    assert _proxied_sign_in(colleague, user.username, PASSWORD, "198.51.100.2").status_code == 302


def test_password_recovery_is_limited_per_address_across_its_forms(app, client, db, monkeypatch, fresh_limits):
    monkeypatch.setitem(app.config, "PASSWORD_RECOVERY_LIMIT_PER_ADDRESS", "2 per minute")
    for _ in range(2):
        token = csrf_token(client, "/auth/sign-in")
        assert client.post("/auth/password/new", data={"csrf_token": token, "token": "nope"}).status_code != 429
    token = csrf_token(client, "/auth/sign-in")
    refused = client.post("/auth/password/forgot", data={"csrf_token": token, "login": "someone@example.com"})
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    client.environ_base["REMOTE_ADDR"] = "203.0.113.5"  # another address is not held back
    token = csrf_token(client, "/auth/sign-in")
    assert client.post("/auth/password/new", data={"csrf_token": token, "token": "nope"}).status_code != 429
