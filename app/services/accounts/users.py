"""Admins manage accounts. Every change is audited (before and after) in its own transaction;
accounts are deactivated, never deleted (history keeps its actors); the last admin stays.
Deactivating an account, or changing its role or binding, ends its sessions (issue 13)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Department, Subject, User
from app.models.enums import Role
from app.services.accounts.passwords import require_acceptable_password
from app.services.accounts.sessions import EndReason, end_all_sessions
from app.services.accounts.signin import get_user_by_username, hash_password
from app.services.audit import audit_admin_change
from app.services.transaction import use_case


def _snapshot(user: User) -> dict:
    return {"username": user.username, "role": user.role, "is_active": user.is_active,
            "subject_id": user.subject_id, "department_id": user.department_id, "email": user.email}


def _audit(actor: User, action: str, user: User, before: dict | None) -> None:
    audit_admin_change(actor, action, "user", user.id, before, _snapshot(user))


def search_users(text: str = "", role: str | None = None, limit: int = 100) -> list[User]:
    stmt = select(User).order_by(User.username).limit(limit)
    if text:
        like = f"%{text.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(User.display_name).like(like),
                              func.lower(User.email).like(like)))
    if role:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    email: str | None
    role: str
    password: str
    department_code: str | None = None
    subject_identifier: str | None = None


def _binding(role: str, department_code: str | None, subject_identifier: str | None) -> dict:
    if role == Role.DEPARTMENT:
        department = db.session.scalar(select(Department).where(Department.code == (department_code or "").strip()))
        if department is None:
            raise InvalidInput(_l("A department user needs an existing department code."))
        return {"department_id": department.id, "subject_id": None}
    if role == Role.APPLICANT:
        subject = db.session.scalar(select(Subject).where(Subject.identifier == (subject_identifier or "").strip().upper()))
        if subject is None:
            raise InvalidInput(_l("An applicant needs the identifier of a known subject."))
        return {"subject_id": subject.id, "department_id": None}
    return {"subject_id": None, "department_id": None}


@use_case
def create_user(actor: User, new: NewUser) -> User:
    if get_user_by_username(new.username) is not None:
        raise InvalidInput(_l("This user name is taken; please choose another."))
    binding = _binding(new.role, new.department_code, new.subject_identifier)
    subject = db.session.get(Subject, binding["subject_id"]) if binding["subject_id"] else None
    require_acceptable_password(new.password, names=[new.username, new.display_name, new.email or "",
                                                     subject.name if subject else ""])
    user = User(username=new.username.strip().lower(), display_name=new.display_name.strip(),
                email=new.email or None, role=new.role, password_hash=hash_password(new.password), **binding)
    db.session.add(user)
    db.session.flush()
    _audit(actor, "user.create", user, None)
    db.session.commit()
    return user


def _active_admins() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.is_active.is_(True)))


@use_case
def set_active(actor: User, user_id: int, active: bool) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    if not active and user.role == Role.ADMIN and user.is_active and _active_admins() <= 1:
        raise Conflict(_l("The last administrator cannot be deactivated."))
    before = _snapshot(user)
    user.is_active = active
    if not active:
        end_all_sessions(user.id, EndReason.DEACTIVATED)
    _audit(actor, "user.activate" if active else "user.deactivate", user, before)
    db.session.commit()
    return user


@use_case
def change_role(actor: User, user_id: int, role: str, department_code: str | None = None,
                subject_identifier: str | None = None) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    if role not in {r.value for r in Role}:
        raise InvalidInput(_l("Unknown role."))
    if user.role == Role.ADMIN and role != Role.ADMIN and user.is_active and _active_admins() <= 1:
        raise Conflict(_l("The last administrator cannot lose the role."))
    before = _snapshot(user)
    binding = _binding(role, department_code, subject_identifier)
    user.role = role
    user.subject_id, user.department_id = binding["subject_id"], binding["department_id"]
    if _snapshot(user) != before:  # what the account may see changed: it signs in again
        end_all_sessions(user.id, EndReason.ROLE_CHANGED)
    _audit(actor, "user.role", user, before)
    db.session.commit()
    return user

