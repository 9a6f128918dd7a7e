"""The outbox: notices are written here, in the transaction that causes them.

Delivery (in-app, e-mail, webhooks) is the dispatcher's job, after the commit. Each notice has
a unique key; writing the same key twice is a no-op, so a second sweep or a retried job
never produces a notice twice.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import Notification
from app.models.enums import Channel, NotificationStatus
from app.services import clock


def enqueue(
    key: str,
    template: str,
    payload: dict,
    *,
    user_id: int | None = None,
    department_id: int | None = None,
    channel: str = Channel.INBOX,
    not_before: datetime | None = None,
) -> bool:
    """Write one notice unless one with this key exists. Returns whether it was written."""
    values = dict(
        key=key,
        channel=channel,
        recipient_user_id=user_id,
        recipient_department_id=department_id,
        template=template,
        payload=payload,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=not_before or clock.now(),
        created_at=clock.now(),
    )
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Notification.id)
    )
    return db.session.execute(stmt).scalar() is not None
