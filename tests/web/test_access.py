"""Deny by default: every endpoint declares who may call it, and each role gets what it should."""
from __future__ import annotations

import pytest

from app.models.enums import Role
from app.web.access import PUBLIC
from tests.factories import make_user
from tests.web.helpers import sign_in, text


def test_every_endpoint_declares_an_access_rule(app):
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and getattr(app.view_functions[rule.endpoint], "access_rule", None) is None
    ]
    assert undeclared == []


def test_public_endpoints_are_the_expected_few(app):
    public = sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "access_rule", None) == PUBLIC
    )
    assert public == [
        "api.index",
        "auth.set_language",
        "auth.sign_in",
        "auth.sign_up",
        "public.index",
        "public.query",
    ]


def test_an_undeclared_endpoint_is_refused(app, client):
    # A view registered without a decorator: the hook must refuse it.
    app.view_functions["public.index"].__dict__.pop("access_rule")
    try:
        assert client.get("/").status_code == 403
    finally:
        app.view_functions["public.index"].access_rule = PUBLIC


ANON = "anonymous"
PAGES = {
    # path: who gets 200 (501 for pages not built yet); others get 403, anonymous visitors a redirect.
    "/portal/": {Role.APPLICANT},
    "/desk/": {Role.OFFICER, Role.SUPERVISOR},
    "/desk/dashboard": {Role.SUPERVISOR},
    "/dept/": {Role.DEPARTMENT},
    "/admin/": {Role.ADMIN},
    "/portal/complaints/new": {Role.APPLICANT},
    "/desk/queues": {Role.OFFICER, Role.SUPERVISOR},
    "/dept/referrals": {Role.DEPARTMENT},
    "/admin/users": {Role.ADMIN},
    "/desk/workflows": {Role.OFFICER, Role.SUPERVISOR, Role.ADMIN},
    "/desk/workflows/record": {Role.OFFICER, Role.SUPERVISOR, Role.ADMIN},
    "/admin/outbox/dead": {Role.ADMIN},
    "/desk/dashboard/sla": {Role.SUPERVISOR},
    "/desk/dashboard/sla.csv": {Role.SUPERVISOR},
    "/desk/queues": {Role.OFFICER, Role.SUPERVISOR},
    "/dept/referrals": {Role.DEPARTMENT},
    "/query": "public",
}
NOT_BUILT = {"/admin/users"}


@pytest.mark.parametrize("who", [ANON, *Role])
@pytest.mark.parametrize("path", sorted(PAGES))
def test_route_by_role_matrix(client, who, path):
    if who != ANON:
        sign_in(client, make_user(who).username)
    response = client.get(path)
    if PAGES[path] == "public":
        assert response.status_code == 200
    elif who == ANON:
        assert response.status_code == 302
        assert "/auth/sign-in" in response.headers["Location"]
    elif who in PAGES[path]:
        assert response.status_code == (501 if path in NOT_BUILT else 200)
    else:
        assert response.status_code == 403
        assert "无权" in text(response) or "没有" in text(response)


def test_a_page_not_built_says_so(client):
    sign_in(client, make_user(Role.ADMIN).username)
    response = client.get("/admin/users")
    assert response.status_code == 501
    assert "建设中" in text(response)


def test_unknown_url_gets_a_404_page_in_chinese(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<html lang=\"zh-CN\"" in text(response)
    assert "不存在" in text(response) or "未找到" in text(response)


def test_api_says_it_is_not_built_as_problem_json(client):
    response = client.get("/api/v1/")
    assert response.status_code == 501
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 501


def test_security_headers_are_set(client):
    response = client.get("/auth/sign-in")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"




def test_admins_see_dead_letters_and_send_them_again(client, db):
    from app.models import Notification
    from app.models.enums import NotificationStatus
    from app.services import notify
    from tests.web.helpers import csrf_token

    admin = make_user(Role.ADMIN)
    notify.enqueue("k:dead", "case_submitted", {"case": "X"}, user_id=admin.id)
    notice = db.session.scalars(db.select(Notification)).one()
    notice.status, notice.attempts, notice.last_error = NotificationStatus.DEAD, 8, "SMTP: refused"
    db.session.commit()
    sign_in(client, admin.username)
    page = client.get("/admin/outbox/dead")
    assert page.status_code == 200 and "SMTP: refused" in text(page)
    assert client.post("/admin/outbox/dead", data={"id": str(notice.id)}).status_code == 400  # no token
    token = csrf_token(client, "/admin/outbox/dead")
    assert client.post("/admin/outbox/dead", data={"csrf_token": token, "id": "x"}).status_code == 422
    done = client.post("/admin/outbox/dead", data={"csrf_token": token, "id": str(notice.id)})
    assert done.status_code == 302
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.PENDING and notice.attempts == 0
    home = text(client.get("/admin/"))
    assert "expire" in home and "dispatch" in home
