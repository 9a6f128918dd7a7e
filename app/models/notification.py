"""The outbox: every notice is written here in the transaction that causes it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base
from app.models.enums import Channel, NotificationStatus, check_in


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        check_in("channel", Channel),
        check_in("status", NotificationStatus),
        CheckConstraint(
            "recipient_user_id IS NOT NULL OR recipient_department_id IS NOT NULL"
            " OR (recipient_address IS NOT NULL AND channel = 'email')",
            name="has_recipient",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The dispatcher asks "pending, due for a (re)try".
        Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notification_recipient_user_read", "recipient_user_id", "read_at"),
        # The heartbeat and the outcome find a run's rows by its claim.
        Index("ix_notification_claimed_by", "claimed_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique per notice (e.g. "sla-breach:timer-42:2026-10-09"), so a retry, a second sweep or a
    # second dispatcher never produces or delivers it twice.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recipient_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    # An e-mail to an address with no account behind it (a sign-up's link): no inbox, no webhook.
    recipient_address: Mapped[str | None] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=clock.now)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The dispatcher run holding the notice (its token) and until when, extended while it runs
    # (app/services/notices/dispatch.py); NULL when no run holds it.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
