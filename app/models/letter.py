"""Letters (issue 15): the numbered written notices a case's steps issue, as PDFs stored once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import now as _now
from app.models.base import Base
from app.models.case import Case
from app.models.enums import check_in
from workflows import LetterKind


class Letter(Base):
    """One letter as issued: its number, the PDF as rendered then, and the hash of its public
    verification code. Never rendered again: what the applicant downloaded, printed and showed a
    bank is what stays here (``sha256`` of ``pdf``)."""

    __tablename__ = "letter"
    __table_args__ = (
        check_in("kind", LetterKind),
        UniqueConstraint("kind", "year", "seq"),
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        CheckConstraint("pdf IS NOT NULL OR erased_at IS NOT NULL", name="pdf_or_erased"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    # The step that issued it and what it decided (``Case.outcome`` for a decision, else none).
    trigger: Mapped[str] = mapped_column(String(30))
    outcome: Mapped[str | None] = mapped_column(String(30))
    case_version: Mapped[int]  # the case's version the step made: the notice of that step attaches it
    year: Mapped[int]  # of the number: the issuing day's year in the platform's time zone
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(40), unique=True)  # e.g. 信异决〔2026〕第000123号
    issued_at: Mapped[datetime] = mapped_column(default=_now)
    # SHA-256 of the verification code (hex): the code itself is on the letter only.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # lists never load the bytes
    # Set, and ``pdf`` gone, when the retention purge erased the case: the PDF names the applicant.
    erased_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()

    def __repr__(self) -> str:
        return f"<Letter {self.number}>"


class LetterNumberCounter(Base):
    """The last number given per kind and year. Raised by one upsert in the issuing transaction,
    which holds the row until it commits: numbers run without gaps (a rolled-back step gives its
    number back), as a register of official documents must."""

    __tablename__ = "letter_number_counter"
    __table_args__ = (check_in("kind", LetterKind),)

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)
