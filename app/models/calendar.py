"""Admin-maintained corrections to the working-day calendar."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base
from app.models.enums import OverrideKind, check_in


class CalendarOverride(Base):
    """A day whose status the official schedule sets differently from the holiday data."""

    __tablename__ = "calendar_override"
    __table_args__ = (check_in("kind", OverrideKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
