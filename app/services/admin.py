"""Figures for the admin home page."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import CreditRecord, Department, Notification, Policy, Subject, User
from app.models.enums import NotificationStatus
from app.services.policy import NoPolicy, get_policy_in_force


@dataclass(frozen=True)
class Overview:
    users_by_role: dict[str, int]
    departments: int
    subjects: int
    records: int
    policy: Policy | None
    outbox: dict[str, int]


def platform_overview() -> Overview:
    return Overview(
        users_by_role=dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all()),
        departments=db.session.scalar(select(func.count()).select_from(Department)),
        subjects=db.session.scalar(select(func.count()).select_from(Subject)),
        records=db.session.scalar(select(func.count()).select_from(CreditRecord)),
        policy=_policy_or_none(),
        outbox=dict(db.session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all()),
    )


def list_dead_letters(limit: int = 200) -> list[Notification]:
    """Notices that gave up after their last attempt, newest first, for admins to retry."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.status == NotificationStatus.DEAD)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def _policy_or_none() -> Policy | None:
    try:
        return get_policy_in_force()
    except NoPolicy:
        return None
