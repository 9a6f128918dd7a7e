"""The admin audit log: every change an admin makes, with what was there before and after."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.models.base import Base
from app.models.personal import Erasable, PersonalData, merge, split


class AdminAudit(Erasable, Base):
    """Append-only, like the events. Personal values of the snapshots (user names, e-mail
    addresses, names: ``app.models.personal``) live in the erasable ``personal`` part; ``before``
    and ``after`` read the snapshots as written, the row's own columns hold ``[已清除]`` there."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    # None: the system, e.g. an operator on the command line rather than an admin account.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The department's API key that made the change (its webhooks changed through the API); None
    # for a change made by an admin or from the command line (issue 13, migration 0026).
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))  # e.g. "user.create", "user.deactivate"
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int | None]
    stored_before: Mapped[dict | None] = mapped_column("before", JSON)
    stored_after: Mapped[dict | None] = mapped_column("after", JSON)
    personal_data_id: Mapped[int | None] = mapped_column(ForeignKey("personal_data.id"))

    personal: Mapped[PersonalData | None] = relationship(lazy="selectin")

    @property
    def before(self) -> dict | None:
        return merge(self.stored_before, self._personal_part("before"))

    @before.setter
    def before(self, value: dict | None) -> None:
        self.stored_before, part = split(value)
        self._keep_personal("before", part)

    @property
    def after(self) -> dict | None:
        return merge(self.stored_after, self._personal_part("after"))

    @after.setter
    def after(self, value: dict | None) -> None:
        self.stored_after, part = split(value)
        self._keep_personal("after", part)
