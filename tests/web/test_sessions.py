"""Sessions you can end (issue 13, item 1): the server keeps every signed-in session and checks it
on every request, so signing out, the lifetimes and changes to the account really end it.

Reproductions of the findings: a cookie copied before sign-out opened ``/portal/`` after it; a
session write (the language switch) re-signed the cookie so it never expired; an admin's
password reset, a role change and a department's deactivation left sessions (and its API keys)
working."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import AdminAudit, UserSession
from app.models.enums import BindingCapacity, Role
from app.services.accounts import DepartmentDetails, create_key, update_department
from app.services.accounts.sessions import coarse_address
from app.services.binding import end_binding, get_current_binding
from tests.factories import make_department, make_subject, make_user
from tests.web.helpers import csrf_token, sign_in, text

COOKIE = "casedesk_session"


def _cookie(client) -> str:
    cookie = client.get_cookie(COOKIE, domain="casedesk.test")
    assert cookie is not None, "no session cookie"
    return cookie.value


def _replay(app, value: str):
    """A second browser holding a copy of the cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value, domain="casedesk.test")
    return other


def _signed_out(response) -> bool:
    return response.status_code == 302 and "/auth/sign-in" in response.headers["Location"]


def _sign_out(client, page: str):
    return client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, page)})


# ---------------------------------------------------------------------------------------
# Sign-out, and what the cookie carries
# ---------------------------------------------------------------------------------------

def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(app, client, db):
    applicant = make_user(Role.APPLICANT)
    sign_in(client, applicant.username)
    assert client.get("/portal/").status_code == 200
    copied = _cookie(client)
    assert _replay(app, copied).get("/portal/").status_code == 200  # the copy works while signed in

    assert _sign_out(client, "/portal/").status_code == 302
    assert _signed_out(client.get("/portal/"))
    replayed = _replay(app, copied).get("/portal/")
    assert _signed_out(replayed)  # the sign-in page, not the portal
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == applicant.id)).one()
    assert row.ended_at is not None and row.end_reason == "signed_out"


def test_the_cookie_carries_a_random_id_and_the_server_only_its_hash(app, client, db):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    data = app.session_interface.get_signing_serializer(app).loads(_cookie(client))
    sid = data["sid"]
    assert len(sid) >= 43  # 256 random bits, URL-safe base64
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == officer.id)).one()
    assert row.token_hash == hashlib.sha256(sid.encode()).hexdigest() != sid
    assert db.session.scalar(select(UserSession.id).where(UserSession.token_hash == sid)) is None
    sign_in(app.test_client(), officer.username)
    tokens = db.session.scalars(select(UserSession.token_hash).where(UserSession.user_id == officer.id)).all()
    assert len(set(tokens)) == 2  # each sign-in its own id


def test_a_forged_session_id_signs_nobody_in(app, client, db):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(_cookie(client))
    data["sid"] = "not-a-session-of-ours"
    forged = _replay(app, serializer.dumps(data))
    assert _signed_out(forged.get("/desk/"))
    assert client.get("/desk/").status_code == 200


# ---------------------------------------------------------------------------------------
# Lifetimes, on the platform clock; the language switch writes the session and moves neither
# ---------------------------------------------------------------------------------------

def test_an_idle_session_ends_and_a_language_switch_after_that_does_not_revive_it(app, client, db, frozen):
    applicant = make_user(Role.APPLICANT)
    sign_in(client, applicant.username)
    frozen.advance(app.config["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=2))
    assert client.get("/portal/").status_code == 200  # activity within the idle timeout
    frozen.advance(app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=1))
    client.get("/auth/language/en?next=/portal/")  # a session write: the cookie is signed afresh
    assert _signed_out(client.get("/portal/"))
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == applicant.id)).one()
    assert row.end_reason == "idle"


def test_the_absolute_lifetime_holds_however_often_the_session_is_written(app, client, db, frozen):
    applicant = make_user(Role.APPLICANT)
    sign_in(client, applicant.username)
    lifetime = app.config["SESSION_ABSOLUTE_LIFETIME"]
    step = app.config["SESSION_IDLE_TIMEOUT"] / 2
    elapsed = timedelta(0)
    while elapsed + step < lifetime:
        frozen.advance(step)
        elapsed += step
        code = "en" if int(elapsed / step) % 2 else "zh_CN"
        client.get(f"/auth/language/{code}?next=/portal/")
        assert client.get("/portal/").status_code == 200, f"signed out after {elapsed}"
    frozen.advance(lifetime - elapsed + timedelta(seconds=1))
    client.get("/auth/language/en?next=/portal/")
    assert _signed_out(client.get("/portal/"))
    assert db.session.scalars(select(UserSession.end_reason).where(UserSession.user_id == applicant.id)).one() \
        == "expired"


def test_last_seen_is_written_at_most_once_a_minute(app, client, db, frozen):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == officer.id)).one()
    started = row.last_seen_at
    frozen.advance(timedelta(seconds=50))
    client.get("/desk/")
    db.session.refresh(row)
    assert row.last_seen_at == started
    frozen.advance(timedelta(seconds=20))
    client.get("/desk/")
    db.session.refresh(row)
    assert row.last_seen_at == started + timedelta(seconds=70)


# ---------------------------------------------------------------------------------------
# Changes to the account end its sessions
# ---------------------------------------------------------------------------------------

@pytest.fixture
def admin_client(app, db):
    admin = make_user(Role.ADMIN)
    browser = app.test_client()
    sign_in(browser, admin.username)
    browser.admin = admin
    return browser


def _admin_post(admin_client, path: str, **data):
    return admin_client.post(path, data={"csrf_token": csrf_token(admin_client, "/admin/users"), **data})


def test_a_deactivated_then_reactivated_account_signs_in_again(client, db, admin_client):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    _admin_post(admin_client, f"/admin/users/{officer.id}/active", active="0")
    _admin_post(admin_client, f"/admin/users/{officer.id}/active", active="1")
    assert _signed_out(client.get("/desk/"))  # the old session did not come back with the account
    assert sign_in(client, officer.username).status_code == 302


def test_a_role_change_ends_the_sessions(client, db, admin_client):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    assert client.get("/desk/").status_code == 200
    response = _admin_post(admin_client, f"/admin/users/{officer.id}/role", role="supervisor")
    assert response.status_code == 302
    assert _signed_out(client.get("/desk/"))
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == officer.id)).one()
    assert row.end_reason == "role_changed"


def test_a_password_reset_by_an_admin_ends_the_old_sessions(app, client, db, admin_client):
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    issued = _admin_post(admin_client, f"/admin/users/{officer.id}/password-reset")
    assert issued.status_code == 200
    assert _signed_out(client.get("/desk/"))  # the admin reset: whoever held the old password is out


def test_setting_the_password_by_the_link_ends_every_session(app, client, db):
    from app.services.recovery import issue_reset

    officer = make_user(Role.OFFICER)
    admin = make_user(Role.ADMIN)
    browser = app.test_client()
    issued = issue_reset(admin, officer.id, "http://casedesk.test/auth/password/")
    sign_in(client, officer.username)  # signed in after the link was issued
    page = browser.get(f"/auth/password/{issued.token}")
    assert page.status_code == 200
    token = csrf_token(browser, f"/auth/password/{issued.token}")
    new_password = "a new and rather long passphrase 2026"
    done = browser.post("/auth/password/new",  # the page's form posts the token (issue 13, passwords)
                        data={"csrf_token": token, "token": issued.token, "password": new_password,
                              "confirm": new_password})
    assert done.status_code == 302, text(done)
    assert _signed_out(client.get("/desk/"))


def test_an_ended_binding_ends_the_agents_sessions(app, client, db):
    company = make_subject()
    lead = make_user(Role.APPLICANT, subject=company, capacity=BindingCapacity.LEGAL_REPRESENTATIVE)
    agent = make_user(Role.APPLICANT, subject=company, capacity=BindingCapacity.AGENT)
    sign_in(client, agent.username)
    assert client.get("/portal/").status_code == 200
    end_binding(lead, get_current_binding(agent).id, "已离职")
    assert _signed_out(client.get("/portal/"))
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == agent.id)).one()
    assert row.end_reason == "binding_ended"


def test_a_deactivated_department_is_signed_out_and_its_keys_stop_at_once(app, client, db):
    department = make_department()
    member = make_user(Role.DEPARTMENT, department=department)
    admin = make_user(Role.ADMIN)
    _key, token = create_key(department, "tests")
    headers = {"Authorization": f"Bearer {token}"}
    sign_in(client, member.username)
    assert client.get("/dept/").status_code == 200
    assert client.get("/api/v1/records", headers=headers).status_code == 200

    update_department(admin, department.id, DepartmentDetails(department.code, department.name, None, is_active=False))
    assert client.get("/api/v1/records", headers=headers).status_code == 401
    assert _signed_out(client.get("/dept/"))
    assert sign_in(client, member.username).status_code == 401  # nor signs in while it is deactivated
    row = db.session.scalars(select(UserSession).where(UserSession.user_id == member.id)).one()
    assert row.end_reason == "department_deactivated"

    update_department(admin, department.id, DepartmentDetails(department.code, department.name, None, is_active=True))
    assert client.get("/api/v1/records", headers=headers).status_code == 200  # not revoked: paused


# ---------------------------------------------------------------------------------------
# "Sign out everywhere": the user's own page, and the admin's
# ---------------------------------------------------------------------------------------

def test_the_user_sees_its_sessions_and_ends_the_others(app, client, db):
    applicant = make_user(Role.APPLICANT)
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    client.environ_base["HTTP_USER_AGENT"] = "Firefox/140 on the desk"
    phone = app.test_client()
    phone.environ_base["REMOTE_ADDR"] = "2001:db8:1234:5678::9"
    phone.environ_base["HTTP_USER_AGENT"] = "Mobile Safari on a lost phone"
    sign_in(client, applicant.username)
    sign_in(phone, applicant.username)

    page = text(client.get("/auth/sessions"))
    assert "203.0.113.0/24" in page and "203.0.113.77" not in page  # the network, not the address
    assert "2001:db8:1234::/48" in page and "5678" not in page
    assert "Mobile Safari on a lost phone" in page and "Firefox/140 on the desk" in page
    assert page.count('data-session="') == 2

    ended = client.post("/auth/sessions/end-all", data={"csrf_token": csrf_token(client, "/auth/sessions"),
                                                        "keep_current": "1"})
    assert ended.status_code == 302
    assert _signed_out(phone.get("/portal/"))
    assert client.get("/portal/").status_code == 200
    assert text(client.get("/auth/sessions")).count('data-session="') == 1

    everywhere = client.post("/auth/sessions/end-all", data={"csrf_token": csrf_token(client, "/auth/sessions")})
    assert _signed_out(everywhere)
    assert _signed_out(client.get("/portal/"))


def test_the_user_ends_one_other_session(app, client, db):
    applicant = make_user(Role.APPLICANT)
    laptop, phone = app.test_client(), app.test_client()
    for browser in (client, laptop, phone):
        sign_in(browser, applicant.username)
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == applicant.id)
                              .order_by(UserSession.id)).all()
    phone_session = rows[2]
    response = client.post(f"/auth/sessions/{phone_session.id}/end",
                           data={"csrf_token": csrf_token(client, "/auth/sessions")})
    assert response.status_code == 302
    assert _signed_out(phone.get("/portal/"))
    assert laptop.get("/portal/").status_code == 200 and client.get("/portal/").status_code == 200


def test_a_user_cannot_end_someone_elses_session(app, client, db):
    mine, theirs = make_user(Role.APPLICANT), make_user(Role.APPLICANT)
    other = app.test_client()
    sign_in(other, theirs.username)
    sign_in(client, mine.username)
    their_session = db.session.scalars(select(UserSession).where(UserSession.user_id == theirs.id)).one()
    response = client.post(f"/auth/sessions/{their_session.id}/end",
                           data={"csrf_token": csrf_token(client, "/auth/sessions")})
    assert response.status_code == 404
    assert other.get("/portal/").status_code == 200


def test_an_admin_signs_a_user_out_everywhere_and_it_is_audited(app, client, db, admin_client):
    officer = make_user(Role.OFFICER)
    second = app.test_client()
    sign_in(client, officer.username)
    sign_in(second, officer.username)
    listing = text(admin_client.get(f"/admin/users?q={officer.username}"))
    assert 'data-live-sessions="2"' in listing
    response = _admin_post(admin_client, f"/admin/users/{officer.id}/sessions/end")
    assert response.status_code == 302
    assert _signed_out(client.get("/desk/")) and _signed_out(second.get("/desk/"))
    entry = db.session.scalars(select(AdminAudit).where(AdminAudit.action == "user.sessions_end")).one()
    assert entry.actor_id == admin_client.admin.id and entry.object_id == officer.id
    assert entry.after == {"sessions_ended": 2}
    assert admin_client.get("/admin/").status_code == 200  # the admin's own session is untouched


@pytest.mark.parametrize(("address", "network"), [
    ("203.0.113.77", "203.0.113.0/24"),
    ("10.1.2.3", "10.1.2.0/24"),
    ("::ffff:198.51.100.9", "198.51.100.0/24"),
    ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
    ("not an address", "unknown"),
    (None, "unknown"),
])
def test_the_session_keeps_the_network_not_the_address(address, network):
    assert coarse_address(address) == network


def test_every_sign_in_path_starts_a_server_session():
    """Password, sign-up link, identity provider, second factor: each goes through
    ``sign_in_user``, and no view calls Flask-Login's ``login_user`` itself."""
    root = Path(__file__).resolve().parents[2] / "app" / "web"
    callers = [path.relative_to(root).as_posix() for path in root.rglob("*.py")
               if "login_user(" in path.read_text() and path.name != "sessions.py"]
    assert callers == []
