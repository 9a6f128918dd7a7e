"""Subject bindings: an account verified (or waiting to be) as acting for a subject.

The binding's ``state`` is owned by the binding workflow (``workflows/binding.py``). An
account's ``User.subject_id`` names the subject it applies for; only a binding in a state that
grants access (verified) lets it see the subject's records and cases or file in its name.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import now as _now
from app.models.base import Base
from app.models.enums import BindingCapacity, BindingDocumentKind, BindingMethod, check_in
from app.models.events import EventColumns
from app.models.org import Subject, User


class SubjectBinding(Base):
    __tablename__ = "subject_binding"
    __table_args__ = (
        check_in("capacity", BindingCapacity),
        check_in("method", BindingMethod),
        # A verified binding says how it was verified; one waiting for an officer has a deadline.
        CheckConstraint("verified_at IS NULL OR method IS NOT NULL", name="verified_has_method"),
        # The officers' queue: waiting bindings, earliest deadline first.
        Index("ix_subject_binding_state_due_at", "state", "due_at"),
        Index("ix_subject_binding_subject_state", "subject_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    capacity: Mapped[str] = mapped_column(String(24))  # the person itself, legal representative, agent
    state: Mapped[str] = mapped_column(String(30))
    method: Mapped[str | None] = mapped_column(String(12))  # how it was verified
    # The name the account holder gave for the subject; checked against the documents (and the
    # platform's name for the subject) by the officer, never written to the subject unverified.
    claimed_name: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime | None]  # the identity check's deadline while an officer has it
    due_soon_at: Mapped[datetime | None]  # when the due-soon reminder went out
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # of the last refusal or ending
    created_at: Mapped[datetime] = mapped_column(default=_now)
    verified_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    subject: Mapped[Subject] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    def __repr__(self) -> str:
        return f"<SubjectBinding {self.id} {self.state}>"


class BindingEvent(EventColumns, Base):
    """The binding's history, append-only like the case and record events."""

    __tablename__ = "binding_event"
    __table_args__ = (UniqueConstraint("binding_id", "seq"),)

    binding_id: Mapped[int] = mapped_column(ForeignKey("subject_binding.id"), index=True)


class BindingDocument(Base):
    """A licence, an identity card or an authorisation letter, stored like evidence files."""

    __tablename__ = "binding_document"
    __table_args__ = (
        check_in("kind", BindingDocumentKind),
        check_in("content_type", ("application/pdf", "image/jpeg", "image/png")),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    binding_id: Mapped[int] = mapped_column(ForeignKey("subject_binding.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(24))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=_now)
