"""The policy table: SLAs, validity periods and repair rules, versioned, as data."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base


class Policy(Base):
    """One version of the whole policy. A version is never edited once in force: admins add a new one.

    ``body`` holds the document (record classes, SLA per workflow step, reminder lead time,
    retention); its shape is checked by ``app.services.policy`` before it is stored.
    """

    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    effective_from: Mapped[date] = mapped_column(index=True)
    body: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    source: Mapped[str | None] = mapped_column(String(500))
