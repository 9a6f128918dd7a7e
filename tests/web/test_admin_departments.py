"""Admins manage departments, their webhook subscriptions and API keys; every change is audited."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.models import AdminAudit, ApiKey, Department, WebhookSubscription
from app.models.enums import Role
from app.services.accounts import authenticate_key
from tests.factories import make_department, make_user
from tests.web.helpers import csrf_token, sign_in, text


def _admin(client):
    admin = make_user(Role.ADMIN)
    sign_in(client, admin.username)
    return admin


def _audit(db, action):
    return db.session.scalars(select(AdminAudit).where(AdminAudit.action == action)).one()


def test_create_and_edit_a_department(client, db):
    admin = _admin(client)
    token = csrf_token(client, "/admin/departments")
    response = client.post("/admin/departments", data={"csrf_token": token, "code": "tax-sh", "name": "税务局",
                                                       "contact_email": "tax@example.cn", "is_active": "y"})
    assert response.status_code == 302
    department = db.session.scalar(select(Department).where(Department.code == "TAX-SH"))
    assert department.contact_email == "tax@example.cn"
    created = _audit(db, "department.create")
    assert created.actor_id == admin.id and created.before is None and created.after["code"] == "TAX-SH"

    page = f"/admin/departments/{department.id}"
    response = client.post(page, data={"csrf_token": csrf_token(client, page), "code": "TAX-SH",
                                       "name": "国家税务总局上海市税务局", "contact_email": ""})
    assert response.status_code == 302
    updated = _audit(db, "department.update")
    assert updated.before["name"] == "税务局" and updated.after["name"] == "国家税务总局上海市税务局"
    assert updated.before["is_active"] is True and updated.after["is_active"] is False
    assert updated.after["contact_email"] is None
    assert "国家税务总局上海市税务局" in text(client.get("/admin/departments"))


def test_bad_department_input_is_422_and_changes_nothing(client, db):
    _admin(client)
    make_department(code="DUP-1", name="原名")
    token = csrf_token(client, "/admin/departments")
    taken = client.post("/admin/departments", data={"csrf_token": token, "code": "dup-1", "name": "x"})
    assert taken.status_code == 422 and "DUP-1" in text(taken)
    bad = client.post("/admin/departments", data={"csrf_token": token, "code": "a b", "name": "x",
                                                  "contact_email": "not-an-address"})
    assert bad.status_code == 422
    assert db.session.scalar(select(AdminAudit)) is None
    assert client.get("/admin/departments/2147483647").status_code == 404


def test_api_key_shown_once_listed_by_prefix_and_revoked(client, db):
    _admin(client)
    department = make_department(code="KEY-1")
    page = f"/admin/departments/{department.id}"
    shown = client.post(f"{page}/keys", data={"csrf_token": csrf_token(client, page), "key-name": "批量推送"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    token = re.search(r'value="(cdk_[^"]+)"', text(shown)).group(1)
    key = db.session.scalar(select(ApiKey).where(ApiKey.department_id == department.id))
    assert authenticate_key(token).id == key.id
    listing = text(client.get(page))
    assert f"cdk_{key.prefix}_" in listing and token not in listing
    created = _audit(db, "apikey.create")
    assert token not in str(created.after) and created.after["prefix"] == key.prefix

    other = make_department(code="KEY-2")
    wrong = client.post(f"/admin/departments/{other.id}/keys/{key.prefix}/revoke",
                        data={"csrf_token": csrf_token(client, page)})
    assert wrong.status_code == 404
    revoked = client.post(f"{page}/keys/{key.prefix}/revoke", data={"csrf_token": csrf_token(client, page)})
    assert revoked.status_code == 302
    assert authenticate_key(token) is None
    entry = _audit(db, "apikey.revoke")
    assert entry.before["revoked_at"] is None and entry.after["revoked_at"]


def test_webhook_subscription_secret_shown_once_and_paused(client, db):
    _admin(client)
    department = make_department(code="HOOK-1")
    db.session.commit()  # as a real department is: the refusal below rolls its use case back
    page = f"/admin/departments/{department.id}"
    bad = client.post(f"{page}/webhooks", data={"csrf_token": csrf_token(client, page), "hook-name": "x",
                                                "hook-url": "ftp://example.cn/hook"})
    assert bad.status_code == 422
    assert db.session.scalar(select(WebhookSubscription)) is None
    shown = client.post(f"{page}/webhooks", data={"csrf_token": csrf_token(client, page), "hook-name": "联合奖惩",
                                                  "hook-url": "https://93.184.215.14/casedesk",
                                                  "hook-events": ["records_retired", "record_corrected"]})
    assert shown.status_code == 200
    subscription = db.session.scalar(select(WebhookSubscription))
    assert subscription.secret in text(shown) and subscription.secret not in text(client.get(page))
    assert subscription.events == ["records_retired", "record_corrected"]
    assert subscription.secret not in str(_audit(db, "webhook.create").after)
    paused = client.post(f"{page}/webhooks/{subscription.id}/active",
                         data={"csrf_token": csrf_token(client, page), "active": "0"})
    assert paused.status_code == 302
    db.session.refresh(subscription)
    assert subscription.is_active is False
    entry = _audit(db, "webhook.deactivate")
    assert entry.before["is_active"] is True and entry.after["is_active"] is False


def test_departments_are_admin_only(client, db):
    department = make_department(code="ONLY-1")
    sign_in(client, make_user(Role.DEPARTMENT, department=department).username)
    assert client.get(f"/admin/departments/{department.id}").status_code == 403
