"""The public query (issue 12): what a stranger may learn, and nothing more.

* A company, by its unified social credit code or its exact registered name: its name (public
  registry data) and its records in publicity. The name is shown only when it came from a
  department, i.e. the company has at least one credit record (in any state): a company the
  platform knows only because an account signed up with its code is answered as unknown, so
  the name that account typed is never shown; nor is a name still only claimed at sign-up
  (``public_name``), which finds nothing by name either.
* A natural person, by name and identity number together: shown only if the person is known,
  is not a minor today, the name matches exactly and at least one record is in publicity.
  Every other case (unknown number, wrong name, minor, nothing in publicity) gets the same
  empty answer, so the query tells nobody whether the platform knows the person.
* Minors never appear, even with a record that is (wrongly) in publicity.

The search is exact (after trimming): no partial or LIKE matching, which would list names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from app import clock, identifiers
from app.extensions import db
from app.models import CreditRecord, Subject
from app.models.enums import SubjectKind, SubjectNameSource
from app.services.accounts.subjects import public_name
from workflows import IN_PUBLICITY

ADULT_AGE = 18
# At most this many companies of one exact name (registered names are unique; this is a cap).
MAX_COMPANIES_BY_NAME = 10


@dataclass(frozen=True)
class PublicSubject:
    """A subject as the public sees it: the name, the identifier (masked by the page) and the
    records in publicity, newest first."""

    kind: str
    name: str | None  # None: the platform has no name the public may see (only one claimed at sign-up)
    identifier: str
    records: list[CreditRecord]


@dataclass(frozen=True)
class PublicAnswer:
    """The answer to one query. ``kind`` is the kind that was asked about (it picks the
    sentence of an empty answer); ``subjects`` is empty when there is nothing to show."""

    kind: str
    subjects: list[PublicSubject] = field(default_factory=list)

    @property
    def records(self) -> list[CreditRecord]:
        return [r for s in self.subjects for r in s.records]


def trim(text: str | None) -> str:
    """Leading and trailing spaces off (``str.strip`` takes the full-width ones too)."""
    return (text or "").strip()


def is_minor(birth: date | None, today: date) -> bool:
    """Under 18 on ``today``; a birthday on 29 February comes of age on 1 March."""
    if birth is None:
        return False
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return age < ADULT_AGE


def query_public_records(query: str, person_name: str | None = None) -> PublicAnswer:
    """The public query. ``query`` is a code, an identity number or a company's exact name;
    ``person_name`` is required (and must match) for an identity number."""
    try:
        ident = identifiers.validate(query or "")
    except identifiers.InvalidIdentifier:
        return _company_by_name(trim(query))
    if ident.kind == SubjectKind.NATURAL:
        return _person(ident, trim(person_name))
    return _company_by_code(ident.value)


def _person(ident: identifiers.Identifier, name: str) -> PublicAnswer:
    nothing = PublicAnswer(SubjectKind.NATURAL)
    today = clock.today()
    if not name or is_minor(ident.birth_date, today):
        return nothing
    subject = db.session.scalar(select(Subject).where(Subject.identifier == ident.value))
    if subject is None or is_minor(subject.birth_date, today):
        return nothing
    if trim(public_name(subject)) != name:  # a name only claimed at sign-up matches nothing
        return nothing
    records = records_in_publicity(subject.id)
    if not records:
        return nothing
    return PublicAnswer(SubjectKind.NATURAL, [PublicSubject(subject.kind, name, subject.identifier, records)])


def _company_by_code(code: str) -> PublicAnswer:
    subject = db.session.scalar(
        select(Subject).where(Subject.identifier == code, _has_a_record())
    )
    return _companies([subject] if subject is not None else [])


def _company_by_name(name: str) -> PublicAnswer:
    if not name:
        return PublicAnswer(SubjectKind.LEGAL)
    subjects = db.session.scalars(
        select(Subject)
        .where(Subject.name == name, Subject.kind == SubjectKind.LEGAL, _has_a_record(),
               Subject.name_source != SubjectNameSource.CLAIMED)
        .order_by(Subject.identifier)
        .limit(MAX_COMPANIES_BY_NAME)
    ).all()
    return _companies(subjects)


def _companies(subjects) -> PublicAnswer:
    return PublicAnswer(SubjectKind.LEGAL, [
        PublicSubject(s.kind, public_name(s), s.identifier, records_in_publicity(s.id)) for s in subjects
    ])


def _has_a_record():
    """The subject's name came from a department: it has a credit record, in whatever state."""
    return exists().where(CreditRecord.subject_id == Subject.id)


def records_in_publicity(subject_id: int) -> list[CreditRecord]:
    """The subject's records in publicity today: public, in a publicity state, between the start
    and the end of publicity. Withheld, repaired, revoked, retired and purged ones never."""
    today = clock.today()
    return list(db.session.scalars(
        select(CreditRecord)
        .where(
            CreditRecord.subject_id == subject_id,
            CreditRecord.is_public.is_(True),
            CreditRecord.state.in_(IN_PUBLICITY),
            CreditRecord.publicity_start <= today,
            CreditRecord.publicity_end >= today,
        )
        .options(joinedload(CreditRecord.department))
        .order_by(CreditRecord.decision_date.desc(), CreditRecord.id.desc())
    ).all())
