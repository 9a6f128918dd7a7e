"""The shape shared by the append-only audit tables (case, record and binding events)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, FetchedValue, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app import clock
from app.models.personal import Erasable, PersonalData, merge, split, split_text


class EventColumns(Erasable):
    """Who did what, when, from which state to which, and why.

    Rows are only ever inserted: the first migration installs database triggers that
    refuse UPDATE and DELETE on these tables, so history always replays to the state.

    Personal data does not stay in them (``app.models.personal``): ``reason`` and ``data`` are
    what was written, read back from the row and its erasable ``personal`` part; the row's own
    columns (``stored_reason``, ``stored_data``) hold ``[已清除]`` in place of each personal value.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    # 1, 2, 3 ... within one case or record. Given as a number, or as the SQL that computes the
    # next one in the INSERT itself: FetchedValue says the database may make it, so the ORM reads
    # it back with RETURNING (no DDL default; the column stays NOT NULL).
    seq: Mapped[int] = mapped_column(server_default=FetchedValue())
    at: Mapped[datetime] = mapped_column(default=clock.now)
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    stored_reason: Mapped[str | None] = mapped_column("reason", Text)
    stored_data: Mapped[dict | None] = mapped_column("data", JSON)

    @declared_attr
    def actor_id(cls) -> Mapped[int | None]:
        # NULL for the scheduled jobs ("system").
        return mapped_column(ForeignKey("user_account.id"))

    @declared_attr
    def personal_data_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("personal_data.id"))

    @declared_attr
    def personal(cls) -> Mapped[PersonalData | None]:
        return relationship(PersonalData, lazy="selectin")

    @property
    def reason(self) -> str | None:
        """The reason as written; ``[已清除]`` once erased."""
        part = self._personal_part("reason")
        return self.stored_reason if part is None else part

    @reason.setter
    def reason(self, value: str | None) -> None:
        self.stored_reason, part = split_text(value)
        self._keep_personal("reason", part)

    @property
    def data(self) -> dict | None:
        """The event's data as written; personal values read ``[已清除]`` once erased."""
        return merge(self.stored_data, self._personal_part("data"))

    @data.setter
    def data(self, value: dict | None) -> None:
        self.stored_data, part = split(value)
        self._keep_personal("data", part)
