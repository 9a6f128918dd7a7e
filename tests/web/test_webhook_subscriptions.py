"""Webhook subscriptions through the API and the admin form (issue 13, item 5): one address rule
for both, a cap per department, every change in the admin audit with the key or the admin that
made it, refusals as 4xx in the user's language.

The address table itself is tests/service/test_webhook_url.py; here, that both doors use it.
"""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from app.models import AdminAudit, WebhookSubscription
from app.models.enums import Role
from app.services.accounts.api_keys import create_key
from tests.factories import make_department, make_user
from tests.web.helpers import csrf_token, sign_in, text

PUBLIC = "https://93.184.215.14/hook"


@pytest.fixture
def strict(app, monkeypatch):
    """http allowed as in development, and nothing on the allow-list: not even the tests' 127.0.0.1."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_NETWORKS", ())
    monkeypatch.setitem(app.config, "WEBHOOK_REQUIRE_HTTPS", False)
    return app


def _key(department=None):
    department = department or make_department()
    make_user(Role.DEPARTMENT, department=department)
    key, token = create_key(department, "tests")
    return department, key, {"Authorization": f"Bearer {token}"}


def _subscriptions(db, department) -> int:
    return db.session.scalar(select(func.count()).select_from(WebhookSubscription)
                             .where(WebhookSubscription.department_id == department.id))


def _admin_on(client, department, locale="zh_CN"):
    admin = make_user(Role.ADMIN, locale=locale)
    sign_in(client, admin.username)
    return admin, f"/admin/departments/{department.id}"


def _add_by_form(client, page, url):
    return client.post(f"{page}/webhooks", data={"csrf_token": csrf_token(client, page), "hook-name": "联合奖惩",
                                                 "hook-url": url})


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8088/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8088/hook",
    "http://[::ffff:127.0.0.1]:8088/hook", "http://0.0.0.0:8088/hook", "https://10.0.0.8/hook",
    "https://192.168.0.8/hook", "http://2130706433:8088/hook", "https://user:pass@93.184.215.14/hook",
])
def test_the_api_refuses_a_dangerous_address_with_a_422_that_says_why(client, db, strict, url):
    department, _k, headers = _key()
    response = client.post("/api/v1/webhooks", headers=headers, json={"url": url})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["detail"]  # the reason, not only a status
    assert _subscriptions(db, department) == 0


def test_the_api_refuses_a_name_that_resolves_to_a_private_address(client, db, strict, monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "hooks.dept.example.cn":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    department, _k, headers = _key()
    response = client.post("/api/v1/webhooks", headers=headers, json={"url": "https://hooks.dept.example.cn/h"})
    assert response.status_code == 422 and "hooks.dept.example.cn" in response.json["detail"]
    assert _subscriptions(db, department) == 0


def test_the_api_and_the_form_refuse_http_where_https_is_required(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_REQUIRE_HTTPS", True)
    department, _k, headers = _key()
    response = client.post("/api/v1/webhooks", headers=headers, json={"url": "http://93.184.215.14/hook"})
    assert response.status_code == 422 and "https://" in response.json["detail"]
    _admin, page = _admin_on(client, department, locale="en")
    refused = _add_by_form(client, page, "http://93.184.215.14/hook")
    assert refused.status_code == 422 and "The address must start with https://." in text(refused)
    assert _subscriptions(db, department) == 0


@pytest.mark.parametrize(("locale", "reason"), [
    ("zh_CN", "地址 127.0.0.1 不是互联网公网地址"), ("en", "The address 127.0.0.1 is not a public Internet address"),
])
def test_the_admin_form_refuses_a_loopback_address_in_the_admins_language(client, db, strict, locale, reason):
    department = make_department()
    _admin, page = _admin_on(client, department, locale=locale)
    refused = _add_by_form(client, page, "http://127.0.0.1:8088/hook")
    assert refused.status_code == 422 and reason in text(refused)
    assert _subscriptions(db, department) == 0
    for url in ("https://admin:secret@93.184.215.14/hook", "http://169.254.169.254/latest/meta-data/"):
        assert _add_by_form(client, page, url).status_code == 422
    assert _subscriptions(db, department) == 0


def test_a_department_has_at_most_the_configured_number_of_active_subscriptions(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_PER_DEPARTMENT", 2)
    department, _k, headers = _key()
    made = [client.post("/api/v1/webhooks", headers=headers, json={"url": f"{PUBLIC}/{n}"}) for n in range(2)]
    assert [m.status_code for m in made] == [201, 201]
    over = client.post("/api/v1/webhooks", headers=headers, json={"url": f"{PUBLIC}/3"})
    assert over.status_code == 422 and "2" in over.json["detail"]
    _admin, page = _admin_on(client, department, locale="en")
    refused = _add_by_form(client, page, f"{PUBLIC}/admin")
    assert refused.status_code == 422
    assert "A department may have at most 2 active webhook subscriptions" in text(refused)
    assert _subscriptions(db, department) == 2
    # Ending one makes room; resuming it when the room is taken again is refused, and said so.
    first = made[0].json["id"]
    assert client.delete(f"/api/v1/webhooks/{first}", headers=headers).status_code == 204
    assert client.post("/api/v1/webhooks", headers=headers, json={"url": f"{PUBLIC}/4"}).status_code == 201
    resumed = client.post(f"{page}/webhooks/{first}/active", data={"csrf_token": csrf_token(client, page),
                                                                   "active": "1"})
    assert resumed.status_code == 422 and "at most 2 active" in text(resumed)
    assert db.session.get(WebhookSubscription, first).is_active is False


def test_another_departments_subscriptions_do_not_count(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_PER_DEPARTMENT", 1)
    _d1, _k1, first = _key()
    _d2, _k2, second = _key()
    assert client.post("/api/v1/webhooks", headers=first, json={"url": PUBLIC}).status_code == 201
    assert client.post("/api/v1/webhooks", headers=second, json={"url": PUBLIC}).status_code == 201


def _audits(db, subscription_id):
    return db.session.scalars(select(AdminAudit).where(AdminAudit.object_type == "webhook",
                                                       AdminAudit.object_id == subscription_id)
                              .order_by(AdminAudit.id)).all()


def test_every_change_is_audited_with_the_key_or_the_admin_that_made_it(client, db):
    department, key, headers = _key()
    made = client.post("/api/v1/webhooks", headers=headers, json={"url": PUBLIC, "name": "dept system"})
    assert made.status_code == 201
    subscription_id = made.json["id"]
    assert client.delete(f"/api/v1/webhooks/{subscription_id}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/webhooks/{subscription_id}", headers=headers).status_code == 204  # no change
    admin, page = _admin_on(client, department)
    for active in ("1", "0"):
        answer = client.post(f"{page}/webhooks/{subscription_id}/active",
                             data={"csrf_token": csrf_token(client, page), "active": active})
        assert answer.status_code == 302
    by_admin = _add_by_form(client, page, PUBLIC)
    assert by_admin.status_code == 200
    rows = [(a.action, a.api_key_id, a.actor_id) for a in _audits(db, subscription_id)]
    assert rows == [("webhook.create", key.id, None), ("webhook.deactivate", key.id, None),
                    ("webhook.activate", None, admin.id), ("webhook.deactivate", None, admin.id)]
    created = _audits(db, subscription_id)[0]
    assert created.after["url"] == PUBLIC and created.after["department_id"] == department.id
    secret = made.json["secret"]
    assert all(secret not in str(a.after) for a in _audits(db, subscription_id))
    [admin_made] = db.session.scalars(select(AdminAudit).where(
        AdminAudit.action == "webhook.create", AdminAudit.actor_id == admin.id)).all()
    assert admin_made.api_key_id is None
