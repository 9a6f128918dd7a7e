"""Sign-in, sign-out, sign-up: the happy paths and every refusal, with clear pages in Chinese."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import SignInAttempt, Subject, User
from app.models.enums import Role, SubjectKind
from tests.factories import PASSWORD, id_number, make_subject, make_user, uscc
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


def test_sign_in_is_throttled_per_account(client, app, frozen):
    user = make_user(Role.OFFICER)
    limit = app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert sign_in(client, user.username, "wrong").status_code == 401
    blocked = sign_in(client, user.username)  # even the right password is not tried now
    assert blocked.status_code == 429
    assert "登录失败次数过多" in text(blocked)
    assert "15" in text(blocked)  # minutes to wait
    frozen.advance(app.config["SIGNIN_WINDOW"] + timedelta(seconds=1))
    assert sign_in(client, user.username).status_code == 302


def test_sign_in_is_throttled_per_address(client, app, db):
    limit = app.config["SIGNIN_MAX_FAILURES_PER_ADDRESS"]
    for n in range(limit):
        sign_in(client, f"guess{n}", "wrong")
    user = make_user(Role.OFFICER)
    assert sign_in(client, user.username).status_code == 429
    attempts = db.session.scalars(select(SignInAttempt)).all()
    assert len(attempts) == limit  # the refused one was not even counted


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


def _sign_up(client, **fields):
    data = {
        "kind": "legal",
        "identifier": uscc(),
        "subject_name": "上海新开贸易有限公司",
        "display_name": "王经理",
        "username": "newco",
        "email": "wang@newco.example.cn",
        "password": "a long enough password",
        "confirm": "a long enough password",
        "csrf_token": csrf_token(client, "/auth/sign-up"),
    }
    data.update(fields)
    return client.post("/auth/sign-up", data=data)


def test_sign_up_binds_the_account_to_a_new_subject(client, db):
    ident = uscc()
    response = _sign_up(client, identifier=ident.lower())
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "newco"))
    assert user.role == Role.APPLICANT
    assert user.subject.identifier == ident  # normalised to capitals
    assert user.password_hash.startswith("$argon2id$")
    # Not verified yet: the portal sends the account to its verification (issue 12).
    assert client.get("/portal/").headers["Location"].endswith("/portal/binding")
    assert client.get("/portal/binding").status_code == 200


def test_sign_up_of_a_person_stores_the_birth_date(client, db):
    ident = id_number(birth="19851203")
    assert _sign_up(client, kind="natural", identifier=ident, subject_name="刘洋").status_code == 302
    subject = db.session.scalar(select(Subject).where(Subject.identifier == ident))
    assert subject.kind == SubjectKind.NATURAL and subject.birth_date.isoformat() == "1985-12-03"


@pytest.mark.parametrize(
    ("kind", "identifier", "message"),
    [
        ("legal", "91310101MA1FL0XX", "18"),
        ("legal", "91350100M000100Y44", "校验"),
        ("legal", "9135010OM000100Y43", "I"),
        ("natural", "110105194912310021", "校验"),
        ("natural", "110105199902300021", "出生日期"),
        ("natural", "91350100M000100Y43", "X"),
    ],
)
def test_sign_up_refuses_a_bad_identifier_with_a_clear_message(client, db, kind, identifier, message):
    response = _sign_up(client, kind=kind, identifier=identifier)
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(User).where(User.username == "newco")) is None


def test_sign_up_for_a_known_subject_needs_its_registered_name(client, db):
    subject = make_subject(name="上海已登记有限公司")
    response = _sign_up(client, identifier=subject.identifier, subject_name="别的名字")
    assert response.status_code == 422
    assert "名称" in text(response)
    assert _sign_up(client, identifier=subject.identifier, subject_name="上海已登记有限公司").status_code == 302


def test_sign_up_refuses_a_taken_user_name(client):
    make_user(Role.OFFICER, username="newco")
    response = _sign_up(client)
    assert response.status_code == 422


def test_sign_up_refuses_mismatched_passwords(client):
    response = _sign_up(client, confirm="something else entirely")
    assert response.status_code == 422


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
