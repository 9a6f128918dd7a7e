"""Reading letters: a case's list, one letter's file, and the public check of a code."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import undefer

from app.errors import Gone, NotFound
from app.extensions import db
from app.models import Case, Letter
from app.services.letters import codes
from app.services.letters.kinds import TITLES
from workflows import CASE_WORKFLOWS


def letters_of(case: Case) -> list[Letter]:
    """The case's letters, oldest first, without their bytes: for a page whose viewer may see the case."""
    return list(db.session.scalars(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)))


def get_letter_of(case: Case, letter_id: int) -> Letter:
    """One letter of a case the caller may see (``cases.get_case_for`` checked it), with its PDF
    as issued: never rendered again."""
    letter = db.session.scalar(
        select(Letter).where(Letter.id == letter_id, Letter.case_id == case.id).options(undefer(Letter.pdf)))
    if letter is None:
        raise NotFound()
    if letter.pdf is None:  # erased with its case at the end of retention
        raise Gone(_("This letter was erased with its case when the retention period ended; its number "
                     "can still be checked on the verification page."))
    return letter


def file_name(letter: Letter) -> str:
    return f"{letter.number}.pdf"


@dataclass(frozen=True)
class Verified:
    """What the public verification page confirms, and nothing more: no name, no case, no record."""

    number: str
    issued_at: datetime
    title: str
    result: str


def verify_code(typed: str) -> Verified:
    """The letter a verification code belongs to; NotFound for a code no letter has (mistyped,
    made up, altered), whatever its shape."""
    code = codes.normalise(typed)
    row = None if code is None else db.session.execute(
        select(Letter.number, Letter.issued_at, Letter.kind, Letter.trigger, Case.kind)
        .join(Case, Case.id == Letter.case_id).where(Letter.code_hash == codes.code_hash(code))
    ).one_or_none()
    if row is None:
        raise NotFound()
    number, issued_at, kind, trigger, case_kind = row
    spec = next(t.letter for t in CASE_WORKFLOWS[case_kind].transitions if t.trigger == trigger and t.letter)
    return Verified(number=number, issued_at=issued_at, title=str(TITLES[kind]), result=spec.result)
