"""Webhook subscriptions of departments and downstream platforms."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base


class WebhookSubscription(Base):
    """Where to POST signed notices. Without a department: a downstream platform that
    receives the record notices of every department (e.g. a joint-sanctions system)."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))
    # Templates to receive (e.g. "records_retired"); ["*"] for all.
    events: Mapped[list] = mapped_column(JSON, default=lambda: ["*"])
    is_active: Mapped[bool] = mapped_column(default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
