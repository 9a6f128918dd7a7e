"""An admin issues a single-use, expiring password link; the user sets a new password with it."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.models import AdminAudit, PasswordReset
from app.models.enums import Role
from app.services.accounts import check_password
from tests.factories import make_user
from tests.web.helpers import csrf_token, sign_in, text

NEW = "a brand new passphrase"


def _issue(client, db, user) -> str:
    admin = make_user(Role.ADMIN)
    sign_in(client, admin.username)
    response = client.post(f"/admin/users/{user.id}/password-reset",
                           data={"csrf_token": csrf_token(client, "/admin/users")})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    link = re.search(r'value="(http[^"]+/auth/password/[^"]+)"', text(response)).group(1)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/admin/users")})
    entry = db.session.scalar(select(AdminAudit).where(AdminAudit.action == "user.password_reset")
                             .order_by(AdminAudit.id.desc()).limit(1))
    assert entry.actor_id == admin.id and entry.object_id == user.id and "expires_at" in entry.after
    token = link.rsplit("/", 1)[1]
    assert token not in str(entry.after)
    # Only the hash is stored.
    assert db.session.scalar(select(PasswordReset.token_hash).where(PasswordReset.user_id == user.id)) != token
    return "/auth/password/" + token


def _set(client, path, password=NEW, confirm=None):
    """Submit the link's page as a browser does: its form posts the token, to an address without it."""
    token = csrf_token(client, path)
    return client.post("/auth/password/new", data={"csrf_token": token, "token": path.rsplit("/", 1)[1],
                                                   "password": password, "confirm": confirm or password})


def test_the_link_sets_a_password_once(client, db):
    user = make_user(Role.OFFICER)
    path = _issue(client, db, user)
    assert _set(client, path).status_code == 302
    db.session.refresh(user)
    assert check_password(user, NEW)
    assert sign_in(client, user.username, NEW).status_code == 302
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})
    again = client.get(path)
    assert again.status_code == 410 and 'name="password"' not in text(again)


def test_an_expired_link_is_refused(client, db):
    user = make_user(Role.OFFICER)
    path = _issue(client, db, user)
    with clock.frozen_clock(clock.now() + timedelta(hours=25)):
        assert client.get(path).status_code == 410
    db.session.refresh(user)
    assert not check_password(user, NEW)


def test_a_new_link_voids_the_old_one_and_bad_input_is_422(client, db):
    user = make_user(Role.OFFICER)
    first = _issue(client, db, user)
    second = _issue(client, db, user)
    assert client.get(first).status_code == 410
    short = _set(client, second, "short")
    assert short.status_code == 422 and "12" in text(short)
    differ = _set(client, second, NEW, NEW + "x")
    assert differ.status_code == 422
    assert client.get("/auth/password/not-a-token").status_code == 404
    assert _set(client, second).status_code == 302


def test_only_admins_issue_links(client, db):
    user = make_user(Role.OFFICER)
    officer = make_user(Role.SUPERVISOR)
    sign_in(client, officer.username)
    response = client.post(f"/admin/users/{user.id}/password-reset",
                           data={"csrf_token": csrf_token(client, "/desk/")})
    assert response.status_code == 403
    assert db.session.scalar(select(PasswordReset)) is None
