"""Negative credit records (失信信息) and their lifecycle events."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.models.base import Base
from app.models.enums import IN_PUBLICITY, RecordCategory, RecordClass, RecordState, check_in
from app.models.events import EventColumns
from app.models.org import Department, Subject

# No decision before this day is taken as real (a typo such as 1900-01-01): every input path refuses it.
EARLIEST_DECISION_DATE = date(1990, 1, 1)


class ExpiryRun(Base):
    """One run of the expiry job that retired something: its digests and console pages name it.

    ``finished_at`` stays empty for a run that died between batches (what it committed stands)."""

    __tablename__ = "expiry_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    retired: Mapped[int] = mapped_column(default=0, server_default="0")


class CreditRecord(Base):
    __tablename__ = "credit_record"
    __table_args__ = (
        check_in("category", RecordCategory),
        check_in("severity", RecordClass),
        check_in("state", RecordState),
        CheckConstraint(
            "publicity_start <= shortest_publicity_end AND shortest_publicity_end <= publicity_end",
            name="dates_ordered",
        ),
        CheckConstraint("state <> 'retired' OR retired_at IS NOT NULL", name="retired_has_time"),
        CheckConstraint("state <> 'purged' OR purged_at IS NOT NULL", name="purged_has_time"),
        CheckConstraint("is_public OR withheld_reason IS NOT NULL", name="withheld_has_reason"),
        # A department provides each of its decisions once; imports rely on it to be idempotent.
        UniqueConstraint("department_id", "decision_number"),
        # The expiry sweep asks "in publicity, end passed": a partial index holds only the
        # records in publicity, so a catch-up never wades through the retired ones.
        Index(
            "ix_credit_record_in_publicity_end",
            "publicity_end",
            postgresql_where=text("state IN ('published', 'corrected')"),
            sqlite_where=text("state IN ('published', 'corrected')"),
        ),
        # The public query asks by subject, the department inbox by department.
        Index("ix_credit_record_subject_state", "subject_id", "state"),
        Index("ix_credit_record_department_state", "department_id", "state"),
        # A department's records retired by one run of the expiry job, in id order (its digest's page).
        Index("ix_credit_record_retired_in_run", "retired_in_run", "department_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    category: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    decision_number: Mapped[str] = mapped_column(String(100))
    decision_date: Mapped[date]
    facts: Mapped[str] = mapped_column(Text)
    sanction: Mapped[str] = mapped_column(Text)
    # Machine-readable sanction kinds (e.g. "fine", "licence_revoked"); the policy lists
    # which kinds are never repairable early.
    sanction_kinds: Mapped[list] = mapped_column(JSON, default=list)
    # Sector for the legacy rule (special equipment, work safety, fire: 1 year before repair).
    sector: Mapped[str | None] = mapped_column(String(40))
    # The last day of a blocking measure the decision imposes (e.g. business restricted until):
    # repair is refused while it runs (DESIGN section 9).
    measure_until: Mapped[date | None]

    is_public: Mapped[bool] = mapped_column(default=True, server_default="1")
    withheld_reason: Mapped[str | None] = mapped_column(String(40))

    publicity_start: Mapped[date]
    shortest_publicity_end: Mapped[date]
    publicity_end: Mapped[date]
    policy_version: Mapped[int] = mapped_column(ForeignKey("policy.version"))

    state: Mapped[str] = mapped_column(String(12), default=RecordState.PUBLISHED)
    under_objection: Mapped[bool] = mapped_column(default=False, server_default="0")
    published_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Provided later than the policy's publication deadline (7 working days after the decision).
    published_late: Mapped[bool] = mapped_column(default=False, server_default="0")
    retired_at: Mapped[datetime | None]
    # The run of the expiry job that retired it (its department's digest names the run).
    retired_in_run: Mapped[int | None] = mapped_column(ForeignKey("expiry_run.id"))
    purged_at: Mapped[datetime | None]

    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    subject: Mapped[Subject] = relationship()
    department: Mapped[Department] = relationship()

    # Optimistic locking: every UPDATE checks the version it read. The services bump it once
    # per use case (not once per flush), so the version a user saw names one state of the row.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def repair_possible_from(self) -> date:
        """The first day a repair may be applied for: the day after the shortest publicity ends."""
        return self.shortest_publicity_end + timedelta(days=1)

    @property
    def leaves_publicity_on(self) -> date:
        """The day it leaves publicity if nothing else happens: the expiry job retires it the
        day after its last day (``records.ahead`` and ``records.expiry`` count the same way)."""
        return self.publicity_end + timedelta(days=1)

    @property
    def in_publicity(self) -> bool:
        return self.state in IN_PUBLICITY

    def publicly_visible(self, on: date) -> bool:
        """Whether the public query shows this record on the given day."""
        return self.is_public and self.in_publicity and self.publicity_start <= on <= self.publicity_end

    def __repr__(self) -> str:
        return f"<CreditRecord {self.id} {self.state}>"


class RecordEvent(EventColumns, Base):
    __tablename__ = "record_event"
    __table_args__ = (UniqueConstraint("record_id", "seq"), Index("ix_record_event_at_id", "at", "id"))

    record_id: Mapped[int] = mapped_column(ForeignKey("credit_record.id"))
