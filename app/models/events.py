"""The shape shared by the append-only audit tables (case and record events)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app import clock


class EventColumns:
    """Who did what, when, from which state to which, and why.

    Rows are only ever inserted: the first migration installs database triggers that
    refuse UPDATE and DELETE on these tables, so history always replays to the state.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]  # 1, 2, 3 ... within one case or record
    at: Mapped[datetime] = mapped_column(default=clock.now)
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)

    @declared_attr
    def actor_id(cls) -> Mapped[int | None]:
        # NULL for the scheduled jobs ("system").
        return mapped_column(ForeignKey("user_account.id"))
