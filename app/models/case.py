"""Cases (objections, complaints, repairs), their audit trail, evidence files and SLA timers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, FetchedValue, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import now as _now
from app.models.base import Base
from app.models.enums import AttachmentPurpose, CaseKind, TimerStatus, TimerUnit, check_in
from app.models.events import EventColumns
from app.models.org import Department, Subject, User
from app.models.record import CreditRecord

ONE_OPEN_PER_RECORD = text("closed_at IS NULL AND kind IN ('objection', 'repair')")
OPEN_WITH_DEADLINE = text("closed_at IS NULL AND due_at IS NOT NULL")
NOT_ERASED = text("erased_at IS NULL")


class Case(Base):
    """One application by a subject. Its ``state`` is owned by the workflow in ``workflows/``."""

    __tablename__ = "case"
    __table_args__ = (
        check_in("kind", CaseKind),
        # Objections and repairs are always about one record; complaints may be about a department.
        CheckConstraint("kind = 'complaint' OR record_id IS NOT NULL", name="record_required"),
        CheckConstraint("closed_at IS NULL OR closed_at >= submitted_at", name="closed_after_submitted"),
        # Officer queues: open cases by kind and state, earliest deadline first; the whole
        # queue pages by (due_at, id) (closed cases have no deadline: they sort last).
        Index("ix_case_kind_state_due_at", "kind", "state", "due_at"),
        Index("ix_case_due_at_id", "due_at", "id"),
        Index("ix_case_state_due_at", "state", "due_at"),
        Index("ix_case_assignee_state", "assignee_id", "state"),
        Index("ix_case_department_state", "department_id", "state"),
        # Overdue and due-soon counts per queue: a range on the open cases' deadlines only.
        Index("ix_case_open_due_at", "due_at", "kind", "state",
              postgresql_where=OPEN_WITH_DEADLINE, sqlite_where=OPEN_WITH_DEADLINE),
        # A record takes one open objection and one open repair per subject at a time. "Open"
        # is "not done": ``closed_at`` is set exactly when a case reaches a done state (decided,
        # approved, responded or final; ``apply_transition``) and cleared when it leaves one. A
        # decided objection (done, resting until closed) does not block a new one on new facts.
        # Complaints are not held to it: a repeat asks for confirmation instead (``submit_case``).
        Index("uq_case_one_open_per_record", "record_id", "kind", "subject_id", unique=True,
              postgresql_where=ONE_OPEN_PER_RECORD, sqlite_where=ONE_OPEN_PER_RECORD),
        # The retention purge asks "closed before the cutoff, not erased yet" (issue 13).
        Index("ix_case_closed_at_not_erased", "closed_at", postgresql_where=NOT_ERASED, sqlite_where=NOT_ERASED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. YY-2026-000042. On PostgreSQL drawn in the case's INSERT (``case_number_next``,
    # migration 0034): FetchedValue has the ORM read it back with RETURNING (no DDL default).
    number: Mapped[str] = mapped_column(String(20), unique=True, server_default=FetchedValue())
    # ``active_history``: a change always knows the value it replaces, which the queue counts
    # (``QueueCount``) move the case from, even when the attribute was not loaded before.
    kind: Mapped[str] = mapped_column(String(10), active_history=True)
    state: Mapped[str] = mapped_column(String(30), active_history=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), active_history=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # When the case was first put before its department (a transition that ``refers``: a referral,
    # an opinion request, a complaint handed to it). The department sees the case from then on only.
    referred_at: Mapped[datetime | None]
    # A complaint about the handling of another case names it; that case's officer cannot handle it.
    about_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    policy_version: Mapped[int] = mapped_column(ForeignKey("policy.version"))

    title: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)  # the applicant's own words
    outcome: Mapped[str | None] = mapped_column(String(30))  # e.g. corrected / revoked / maintained
    outcome_reason: Mapped[str | None] = mapped_column(Text)

    # The deadline of the current step, copied from its running timer so queues sort on one index.
    due_at: Mapped[datetime | None]

    version: Mapped[int] = mapped_column(default=1, server_default="1")
    submitted_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)
    closed_at: Mapped[datetime | None]
    # SHA-256 of the one-time token of the form that filed the case: a second POST of the same
    # form finds this case instead of filing another (``submit_case``).
    form_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # When the retention purge erased its statement, texts and files (``records.retention``).
    erased_at: Mapped[datetime | None]

    subject: Mapped[Subject] = relationship()
    record: Mapped[CreditRecord | None] = relationship()
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    department: Mapped[Department | None] = relationship()

    # Optimistic locking: every UPDATE checks the version it read. The services bump it once
    # per use case (not once per flush), so the version a user saw names one state of the row.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    def __repr__(self) -> str:
        return f"<Case {self.number} {self.state}>"


class CaseEvent(EventColumns, Base):
    __tablename__ = "case_event"
    # The audit log reads the events newest first, across all cases.
    __table_args__ = (UniqueConstraint("case_id", "seq"), Index("ix_case_event_at_id", "at", "id"))

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))


class CaseNumberCounter(Base):
    """Last number handed out per kind and year, so numbers run 000001, 000002 ... each year.

    SQLite only (one writer at a time anyway). PostgreSQL draws from a sequence per kind and
    year, ``case_number_<kind>_<year>`` (``next_case_number``), which never makes writers wait.
    """

    __tablename__ = "case_number_counter"
    __table_args__ = (check_in("kind", CaseKind),)

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class QueueCount(Base):
    """How many cases are in each queue: per kind, state and assignee (0: nobody), all cases.

    Kept by delta in the transaction of every change that moves a case (``queue_counts``):
    written as that transaction's last statement, spread over a few ``shard`` rows per queue so
    that concurrent writers rarely wait on the same row. A queue's count is the sum of its
    shards. ``recount_queues`` rebuilds the table from the cases.
    """

    __tablename__ = "queue_count"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    state: Mapped[str] = mapped_column(String(30), primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    shard: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(default=0)


class Attachment(Base):
    """An evidence file. Content lives outside the web root under its SHA-256."""

    __tablename__ = "attachment"
    __table_args__ = (
        check_in("purpose", AttachmentPurpose),
        check_in("content_type", ("application/pdf", "image/jpeg", "image/png")),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    purpose: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)


class Timer(Base):
    """One SLA clock of a case (see ``workflows``: each state says which clocks run in it).

    A running timer has a deadline. A paused one (waiting for the applicant's supplement)
    keeps the units it had left, so the clock resumes where it stopped even if the policy
    changes meanwhile. ``extended`` counts the documented extensions granted.
    """

    __tablename__ = "timer"
    __table_args__ = (
        check_in("unit", TimerUnit),
        check_in("status", TimerStatus),
        CheckConstraint("status <> 'running' OR due_at IS NOT NULL", name="running_has_deadline"),
        CheckConstraint(
            "status <> 'paused' OR (paused_at IS NOT NULL AND remaining IS NOT NULL)",
            name="paused_keeps_remaining",
        ),
        CheckConstraint("status <> 'stopped' OR stopped_at IS NOT NULL", name="stopped_has_time"),
        # The SLA sweep asks "running, deadline near or passed".
        Index("ix_timer_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    clock: Mapped[str] = mapped_column(String(30))  # the workflow's clock, e.g. "accept", "overall"
    unit: Mapped[str] = mapped_column(String(2))
    length: Mapped[int]
    policy_version: Mapped[int] = mapped_column(ForeignKey("policy.version"))
    status: Mapped[str] = mapped_column(String(10), default=TimerStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=_now)
    due_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    remaining: Mapped[int | None]
    stopped_at: Mapped[datetime | None]
    due_soon_at: Mapped[datetime | None]  # when the due-soon reminder went out
    breached_at: Mapped[datetime | None]  # when the sweep found it past its deadline
    extended: Mapped[int] = mapped_column(default=0, server_default="0")
    # Days a calendar-day deadline was moved past rest days (民法典 art. 203): the period's own
    # end is ``due_at`` minus these, which pauses, extensions and policy changes count from.
    rest_day_shift: Mapped[int] = mapped_column(default=0, server_default="0")

    case: Mapped[Case] = relationship()
