"""Who takes part: originating departments, credit subjects and user accounts."""
from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.models.base import Base
from app.models.enums import NameMismatchOrigin, Role, SubjectKind, SubjectNameSource, check_in


class Department(Base):
    """An originating department (认定单位): decides records, provides them, answers referrals."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    is_active: Mapped[bool] = mapped_column(default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class Subject(Base):
    """A credit subject (信用主体): a legal entity or a natural person."""

    __tablename__ = "subject"
    __table_args__ = (
        check_in("kind", SubjectKind),
        # A natural person's birth date is part of the identity number; minors are never published.
        CheckConstraint("kind = 'natural' OR birth_date IS NULL", name="birth_date_only_natural"),
        check_in("name_source", SubjectNameSource),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    identifier: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Whose word the name is: a name only claimed at sign-up is never shown to the public and
    # gives way to the first name a department or a verification gives (SubjectNameSource).
    name_source: Mapped[str] = mapped_column(String(12), default=SubjectNameSource.DEPARTMENT,
                                             server_default=SubjectNameSource.DEPARTMENT)
    birth_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # When the retention purge erased its name and identifier (``records.retention``).
    erased_at: Mapped[datetime | None]

    @property
    def is_natural_person(self) -> bool:
        return self.kind == SubjectKind.NATURAL

    def __repr__(self) -> str:  # never the identifier: reprs end up in logs
        return f"<Subject {self.id} {self.kind}>"


class User(UserMixin, Base):
    """An account. Applicants are bound to a subject, department users to a department."""

    __tablename__ = "user_account"
    __table_args__ = (
        check_in("role", Role),
        CheckConstraint(
            "(role = 'applicant' AND subject_id IS NOT NULL AND department_id IS NULL)"
            " OR (role = 'department' AND department_id IS NOT NULL AND subject_id IS NULL)"
            " OR (role IN ('officer', 'supervisor', 'admin') AND subject_id IS NULL)",
            name="binding_matches_role",
        ),
        # The identity provider's account this one signs in with (OpenID Connect: issuer and sub).
        UniqueConstraint("oidc_issuer", "oidc_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(254), unique=True)  # e-mail addresses since issue 12
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(12))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_sign_in_at: Mapped[datetime | None]
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))

    subject: Mapped[Subject | None] = relationship()
    department: Mapped[Department | None] = relationship()

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class SubjectNameMismatch(Base):
    """A name given for a known subject that differs from the platform's: both are kept, and an
    officer decides which is right (``resolution``: which name stands, and why)."""

    __tablename__ = "subject_name_mismatch"
    __table_args__ = (
        check_in("origin", NameMismatchOrigin),
        # The officers' list: open mismatches, oldest first.
        Index("ix_subject_name_mismatch_open", "resolved_at", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    known_name: Mapped[str] = mapped_column(String(200))  # the platform's name when it was raised
    given_name: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(12))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"))
    raised_at: Mapped[datetime] = mapped_column(default=clock.now)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kept_name: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)

    subject: Mapped[Subject] = relationship()
    department: Mapped[Department | None] = relationship()

    def __repr__(self) -> str:  # never the names: reprs end up in logs
        return f"<SubjectNameMismatch {self.id} subject={self.subject_id}>"
