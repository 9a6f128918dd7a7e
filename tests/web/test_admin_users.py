"""Admins manage accounts: audited before and after, never deleted, the last admin stays."""
from __future__ import annotations

from sqlalchemy import select

from app.models import AdminAudit, User
from app.models.enums import Role
from tests.factories import make_department, make_user
from tests.web.helpers import csrf_token, sign_in, text


def _admin_client(client):
    admin = make_user(Role.ADMIN)
    sign_in(client, admin.username)
    return admin


def test_create_search_and_audit(client, db):
    admin = _admin_client(client)
    department = make_department(code="ADM-1")
    response = client.post("/admin/users", data={
        "csrf_token": csrf_token(client, "/admin/users"), "username": "newdept", "display_name": "新部门用户",
        "role": "department", "department_code": "ADM-1", "password": "a long enough password"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "newdept"))
    assert user.department_id == department.id and user.password_hash.startswith("$argon2id$")
    entry = db.session.scalar(select(AdminAudit).where(AdminAudit.object_id == user.id))
    assert entry.actor_id == admin.id and entry.action == "user.create" and entry.before is None
    assert entry.after["role"] == "department"
    assert "newdept" in text(client.get("/admin/users?q=newdept"))
    assert "user.create" in text(client.get("/admin/audit"))


def test_bad_input_is_refused_clearly(client, db):
    _admin_client(client)
    token = csrf_token(client, "/admin/users")
    no_department = client.post("/admin/users", data={"csrf_token": token, "username": "x-dept", "display_name": "x",
                                                      "role": "department", "department_code": "NOPE",
                                                      "password": "a long enough password"})
    assert no_department.status_code == 422 and "认定单位" in text(no_department)
    short = client.post("/admin/users", data={"csrf_token": token, "username": "y", "display_name": "y",
                                              "role": "officer", "password": "short"})
    assert short.status_code == 422


def test_deactivate_and_reactivate_are_audited_with_before_and_after(client, db):
    admin = _admin_client(client)
    officer = make_user(Role.OFFICER)
    token = csrf_token(client, "/admin/users")
    assert client.post(f"/admin/users/{officer.id}/active", data={"csrf_token": token, "active": "0"}).status_code == 302
    db.session.refresh(officer)
    assert not officer.is_active
    entry = db.session.scalars(select(AdminAudit).where(AdminAudit.action == "user.deactivate")).one()
    assert entry.before["is_active"] is True and entry.after["is_active"] is False and entry.actor_id == admin.id
    client.post(f"/admin/users/{officer.id}/active", data={"csrf_token": token, "active": "1"})
    db.session.refresh(officer)
    assert officer.is_active


def test_the_last_admin_cannot_be_deactivated_or_demoted(client, db):
    for existing in db.session.scalars(select(User).where(User.role == Role.ADMIN)):
        existing.is_active = False
    db.session.commit()
    admin = _admin_client(client)
    token = csrf_token(client, "/admin/users")
    refused = client.post(f"/admin/users/{admin.id}/active", data={"csrf_token": token, "active": "0"})
    assert refused.status_code == 409 and "最后" in text(refused)
    demoted = client.post(f"/admin/users/{admin.id}/role", data={"csrf_token": token, "role": "officer"})
    assert demoted.status_code == 409
    db.session.refresh(admin)
    assert admin.is_active and admin.role == Role.ADMIN


def test_role_change_rebinds_the_account(client, db):
    _admin_client(client)
    department = make_department(code="ADM-2")
    officer = make_user(Role.OFFICER)
    token = csrf_token(client, "/admin/users")
    moved = client.post(f"/admin/users/{officer.id}/role",
                        data={"csrf_token": token, "role": "department", "department_code": "ADM-2"})
    assert moved.status_code == 302
    db.session.refresh(officer)
    assert officer.role == Role.DEPARTMENT and officer.department_id == department.id
