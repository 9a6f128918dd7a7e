"""The outbox as people see it: a user's in-app notices, and notices put back in line."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from app import clock
from app.errors import NotFound
from app.extensions import db
from app.models import Notification, User
from app.models.enums import Channel, NotificationStatus
from app.services.transaction import use_case


def list_retryable(ids: list[int]) -> list[Notification]:
    """Those of the notices ``ids`` that may be sent again (dead or still waiting), by id."""
    return list(db.session.scalars(
        select(Notification).where(
            Notification.id.in_(set(ids)),
            Notification.status.in_([NotificationStatus.DEAD, NotificationStatus.PENDING]),
        ).order_by(Notification.id)
    ))


def requeue(notices: list[Notification]) -> None:
    """Step: put the notices back in line now, with a fresh set of attempts (no commit)."""
    now = clock.now()
    for notice in notices:
        notice.status = NotificationStatus.PENDING
        notice.attempts = 0
        notice.next_attempt_at = now
    db.session.flush()


@use_case
def retry_notices(ids: list[int]) -> int:
    """Put dead (or waiting) notices back in line now (the operator's ``outbox retry``)."""
    notices = list_retryable(ids)
    if not notices and ids:
        raise NotFound()
    requeue(notices)
    db.session.commit()
    return len(notices)


def list_inbox(user: User, limit: int = 50) -> list[Notification]:
    """A user's in-app notices, and for department users their department's."""
    recipient = Notification.recipient_user_id == user.id
    if user.department_id:
        recipient = or_(recipient, Notification.recipient_department_id == user.department_id)
    return list(
        db.session.scalars(
            select(Notification)
            .where(and_(recipient, Notification.channel == Channel.INBOX, Notification.status == NotificationStatus.SENT))
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )
