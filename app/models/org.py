"""Who takes part: originating departments, credit subjects and user accounts."""
from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.models.base import Base
from app.models.enums import Role, SubjectKind, check_in


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    identifier: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
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

    subject: Mapped[Subject | None] = relationship()
    department: Mapped[Department | None] = relationship()

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
