"""Look-ups of people and departments for choosers."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Department, User
from app.models.enums import Role


def list_officers() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role.in_((Role.OFFICER, Role.SUPERVISOR)), User.is_active.is_(True))
        .order_by(User.display_name)
    ))


def list_departments() -> list[Department]:
    return list(db.session.scalars(select(Department).where(Department.is_active.is_(True)).order_by(Department.name)))
