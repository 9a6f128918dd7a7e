"""Names that disagree (issue 12): the officers' list of mismatches and their resolution.

A department's record, an officer's verification or the identity service may name a known
subject otherwise than the platform does; ``accounts.subjects.note_subject_name`` keeps both and
raises a ``SubjectNameMismatch``. Here an officer keeps the platform's name or takes the given
one, with a reason: the decided name becomes the subject's checked name (source ``verified``),
every open flag of the subject giving that same name is resolved with it, and the change is
audited (``admin_audit``, the names before and after) in the same transaction.

Names are personal data: nothing here logs them.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import CreditRecord, Subject, SubjectNameMismatch, User
from app.models.enums import Role, SubjectNameSource
from app.services.audit import audit_admin_change
from app.services.transaction import use_case

KEEP = ("known", "given")  # the platform's name stands, or the given one is taken
STAFF = (Role.OFFICER, Role.SUPERVISOR)


@dataclass(frozen=True)
class NameMismatchRow:
    """One open mismatch as the officers' list shows it."""

    mismatch: SubjectNameMismatch
    subject: Subject
    record: CreditRecord | None


def list_open_name_mismatches(limit: int = 200) -> list[NameMismatchRow]:
    """Open mismatches, oldest first, with their subject, department and record."""
    flags = list(db.session.scalars(
        select(SubjectNameMismatch)
        .where(SubjectNameMismatch.resolved_at.is_(None))
        .options(joinedload(SubjectNameMismatch.subject), joinedload(SubjectNameMismatch.department))
        .order_by(SubjectNameMismatch.raised_at, SubjectNameMismatch.id)
        .limit(limit)
    ))
    record_ids = {f.record_id for f in flags if f.record_id is not None}
    records = {r.id: r for r in db.session.scalars(
        select(CreditRecord).where(CreditRecord.id.in_(record_ids)))} if record_ids else {}
    return [NameMismatchRow(f, f.subject, records.get(f.record_id)) for f in flags]


def list_open_name_mismatches_of(subject_id: int) -> list[SubjectNameMismatch]:
    """The subject's open mismatches (the binding page points to them)."""
    return list(db.session.scalars(
        select(SubjectNameMismatch)
        .where(SubjectNameMismatch.subject_id == subject_id, SubjectNameMismatch.resolved_at.is_(None))
        .order_by(SubjectNameMismatch.raised_at, SubjectNameMismatch.id)
    ))


def get_name_mismatch(mismatch_id: int) -> SubjectNameMismatch:
    mismatch = db.session.get(SubjectNameMismatch, mismatch_id)
    if mismatch is None:
        raise NotFound()
    return mismatch


def _locked_mismatch(mismatch_id: int) -> SubjectNameMismatch:
    mismatch = db.session.scalar(
        select(SubjectNameMismatch).where(SubjectNameMismatch.id == mismatch_id).with_for_update())
    if mismatch is None:
        raise NotFound()
    return mismatch


@use_case
def resolve_name_mismatch(officer: User, mismatch_id: int, keep: str, reason: str | None,
                          expected_name: str | None = None) -> Subject:
    """An officer decides which name stands: ``keep="known"`` the platform's, ``"given"`` the
    mismatch's. ``expected_name`` is the platform's name the officer saw: if it changed
    meanwhile, or the mismatch was already resolved, Conflict (409)."""
    if officer.role not in STAFF:
        raise Forbidden(_l("Only officers decide a subject's name."))
    if keep not in KEEP:
        raise InvalidInput(_l("Choose which name stands."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_l("Please give a reason."))
    mismatch = _locked_mismatch(mismatch_id)
    if mismatch.resolved_at is not None:
        raise Conflict(_l("This name difference has already been decided."))
    subject = db.session.scalar(select(Subject).where(Subject.id == mismatch.subject_id).with_for_update())
    if expected_name is not None and expected_name.strip() != subject.name:
        raise Conflict(_l("The subject's name changed meanwhile. Please look at it again."))
    before = {"name": subject.name, "name_source": subject.name_source}
    name = subject.name if keep == "known" else mismatch.given_name
    subject.name, subject.name_source = name, SubjectNameSource.VERIFIED
    same = list(db.session.scalars(
        select(SubjectNameMismatch)
        .where(SubjectNameMismatch.subject_id == subject.id, SubjectNameMismatch.given_name == mismatch.given_name,
               SubjectNameMismatch.resolved_at.is_(None))
        .with_for_update()
    ))
    now = clock.now()
    for flag in same:
        flag.resolved_at, flag.resolved_by_id, flag.kept_name, flag.resolution = now, officer.id, name, reason
    audit_admin_change(officer, "subject.name_resolve", "subject", subject.id, before, {
        "name": name, "name_source": subject.name_source, "kept": keep, "reason": reason,
        "mismatches": sorted(flag.id for flag in same)})
    db.session.commit()
    return subject
