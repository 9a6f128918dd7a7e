"""Sign-in and sign-out: the happy paths and every refusal, with clear pages in Chinese.

Sign-up, by e-mail and its link, is tests/web/test_sign_up.py."""
from __future__ import annotations

import pytest

from app.models.enums import Role
from tests.factories import PASSWORD, make_user
from tests.web.helpers import csrf_token, sign_in, text


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.APPLICANT, "/portal/"),
        (Role.OFFICER, "/desk/"),
        (Role.SUPERVISOR, "/desk/dashboard"),
        (Role.DEPARTMENT, "/dept/"),
        (Role.ADMIN, "/admin/"),
    ],
)
def test_each_role_lands_on_its_home_page(client, role, home):
    user = make_user(role)
    response = sign_in(client, user.username)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(home)
    page = client.get(home)
    assert page.status_code == 200
    assert user.display_name in text(page)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    user = make_user(Role.OFFICER)
    wrong_password = sign_in(client, user.username, "not the password")
    unknown_name = sign_in(client, "nobody-by-this-name", "not the password")
    assert wrong_password.status_code == unknown_name.status_code == 401
    assert "用户名或密码错误" in text(wrong_password)
    # The two pages differ only in the echoed user name and the one-time token.
    assert text(wrong_password).count("用户名或密码错误") == text(unknown_name).count("用户名或密码错误")


# The sign-in throttles (a back-off per account instead of a lock-out, Flask-Limiter per
# address) are tests/web/test_sign_in_throttle.py (issue 13).


def test_deactivated_account_cannot_sign_in(client):
    user = make_user(Role.OFFICER, is_active=False)
    assert sign_in(client, user.username).status_code == 401


def test_deactivation_ends_an_open_session(client, db):
    user = make_user(Role.OFFICER)
    sign_in(client, user.username)
    assert client.get("/desk/").status_code == 200
    user.is_active = False
    db.session.commit()
    assert client.get("/desk/").status_code == 302  # back to sign-in


def test_missing_csrf_token_gets_a_clear_400(client):
    user = make_user(Role.OFFICER)
    response = client.post("/auth/sign-in", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "安全令牌" in text(response) or "令牌" in text(response)
    assert response.headers["Content-Type"].startswith("text/html")


def test_sign_out_needs_a_post_with_token(client):
    user = make_user(Role.OFFICER)
    sign_in(client, user.username)
    assert client.get("/auth/sign-out").status_code == 405
    assert client.post("/auth/sign-out").status_code == 400
    token = csrf_token(client, "/desk/")
    assert client.post("/auth/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/desk/").status_code == 302


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_redirect_after_sign_in_stays_on_the_site(client, target):
    user = make_user(Role.OFFICER)
    response = sign_in(client, user.username, next=target)
    assert response.headers["Location"].endswith("/desk/")


def test_redirect_after_sign_in_goes_back_to_the_page_asked_for(client):
    user = make_user(Role.SUPERVISOR)
    first = client.get("/desk/")
    assert first.status_code == 302 and "next=/desk/" in first.headers["Location"]
    response = sign_in(client, user.username, next="/desk/")
    assert response.headers["Location"].endswith("/desk/")


def test_the_sign_in_field_takes_a_user_name_or_an_address(client):
    """Older accounts keep their user names; accounts made by sign-up sign in with their address."""
    assert "用户名或电子邮箱" in text(client.get("/auth/sign-in"))
    user = make_user(Role.APPLICANT, username="a.very.long.address.for.the.sign.in.field@department.example.gov.cn")
    assert sign_in(client, user.username.upper()).status_code == 302


def test_language_switch_to_english_and_back(client):
    assert "登录" in text(client.get("/auth/sign-in"))
    client.get("/auth/language/en?next=/auth/sign-in")
    page = text(client.get("/auth/sign-in"))
    assert "Sign in" in page and "登录" not in page.split("<main")[1]
    client.get("/auth/language/zh_CN")
    assert "登录" in text(client.get("/auth/sign-in"))


def test_demo_accounts_are_listed_only_in_demo_mode(app, client):
    assert "demo-officer-2026" in text(client.get("/auth/sign-in"))
    app.config["DEMO_MODE"] = False
    try:
        assert "demo-officer-2026" not in text(client.get("/auth/sign-in"))
    finally:
        app.config["DEMO_MODE"] = True
