"""Subjects and whose word their names are (steps; the callers commit).

The public sees a subject's name only when a department or a verification gave it. A name typed
at sign-up is *claimed*: it names the subject until the first department record or verification
brings the real one, and never reaches the public query. When a department's or a verified name
differs from one the platform already holds on good authority, both are kept and an officer
decides (``SubjectNameMismatch``).
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.identifiers import Identifier
from app.models import Subject, SubjectNameMismatch
from app.models.enums import NameMismatchOrigin, SubjectNameSource

_SOURCE_OF_ORIGIN = {
    NameMismatchOrigin.DEPARTMENT: SubjectNameSource.DEPARTMENT,
    NameMismatchOrigin.OFFICER: SubjectNameSource.VERIFIED,
    NameMismatchOrigin.OIDC: SubjectNameSource.VERIFIED,
}


def find_subject(identifier: Identifier) -> Subject | None:
    return db.session.scalar(select(Subject).where(Subject.identifier == identifier.value))


def find_or_create_subject(identifier: Identifier, name: str, source: str) -> tuple[Subject, bool]:
    """The subject with ``identifier``, created under ``name`` from ``source`` if the platform does
    not know it yet; returns it and whether it is new."""
    subject = find_subject(identifier)
    if subject is not None:
        return subject, False
    subject = Subject(kind=identifier.kind, identifier=identifier.value, name=name.strip(), name_source=source,
                      birth_date=identifier.birth_date)
    db.session.add(subject)
    db.session.flush()
    return subject, True


def note_subject_name(subject: Subject, name: str, origin: str, *, department_id: int | None = None,
                      record_id: int | None = None) -> SubjectNameMismatch | None:
    """A department or a verification names a known subject ``name``.

    A claimed name gives way to it. A verified name confirms a department's. Otherwise, where the
    names differ, the platform's stands and the other is kept beside it, flagged for an officer
    (once per name and origin while open). Returns the flag, if one was raised.
    """
    name = name.strip()
    source = _SOURCE_OF_ORIGIN[origin]
    if subject.name_source == SubjectNameSource.CLAIMED:
        subject.name, subject.name_source = name, source
        return None
    if name == subject.name:
        if source == SubjectNameSource.VERIFIED:
            subject.name_source = source
        return None
    open_flag = db.session.scalar(select(SubjectNameMismatch).where(
        SubjectNameMismatch.subject_id == subject.id, SubjectNameMismatch.given_name == name,
        SubjectNameMismatch.origin == origin, SubjectNameMismatch.resolved_at.is_(None)))
    if open_flag is not None:
        return None
    flag = SubjectNameMismatch(subject_id=subject.id, known_name=subject.name, given_name=name, origin=origin,
                               department_id=department_id, record_id=record_id)
    db.session.add(flag)
    return flag


def public_name(subject: Subject) -> str | None:
    """The subject's name as the public may see it: never one only claimed at sign-up."""
    return None if subject.name_source == SubjectNameSource.CLAIMED else subject.name
