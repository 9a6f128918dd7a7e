"""Who may act for a subject: look-ups of bindings (no writes)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.errors import NotFound
from app.extensions import db
from app.models import BindingDocument, BindingEvent, SubjectBinding, User
from app.models.enums import Role
from app.services.memo import once_per_transaction
from app.services.uploads import download_source
from workflows import BINDING, GRANTS_ACCESS

OPEN = tuple(s.name for s in BINDING.states if not s.final)
WAITING = BINDING.states_where(lambda s: s.has_sla)  # an officer has it, against the deadline


def is_verified_for(user: User, subject_id: int | None) -> bool:
    """Whether ``user`` acts for the subject now: an applicant whose binding to it is verified.

    Asked on every request that shows or files something of the subject, so an ended binding
    ends access at once (no session keeps it); read once per transaction (``app.services.memo``).
    """
    if subject_id is None or user.role != Role.APPLICANT or user.subject_id != subject_id:
        return False
    # Once per transaction: the portal asks before a submission, and the submission asks again.
    return once_per_transaction(("acts_for", user.id, subject_id), (SubjectBinding,), lambda: db.session.scalar(
        select(SubjectBinding.id).where(
            SubjectBinding.user_id == user.id,
            SubjectBinding.subject_id == subject_id,
            SubjectBinding.state.in_(GRANTS_ACCESS),
        ).limit(1)
    ) is not None)


def verified_subject_id(user: User) -> int | None:
    """The subject ``user`` acts for, or None while it is not verified."""
    return user.subject_id if is_verified_for(user, user.subject_id) else None


def get_current_binding(user: User) -> SubjectBinding | None:
    """The account's open binding to its subject (the newest), or None: not verified, nothing sent."""
    if user.subject_id is None:
        return None
    return db.session.scalar(
        select(SubjectBinding)
        .where(SubjectBinding.user_id == user.id, SubjectBinding.subject_id == user.subject_id,
               SubjectBinding.state.in_(OPEN))
        .order_by(SubjectBinding.id.desc())
        .limit(1)
    )


def get_binding(binding_id: int) -> SubjectBinding:
    binding = db.session.get(SubjectBinding, binding_id)
    if binding is None:
        raise NotFound()
    return binding


def list_bindings_waiting(limit: int = 100) -> list[SubjectBinding]:
    """The officers' queue: bindings waiting for the identity check, earliest deadline first."""
    return list(db.session.scalars(
        select(SubjectBinding)
        .where(SubjectBinding.state.in_(WAITING))
        .options(joinedload(SubjectBinding.subject), joinedload(SubjectBinding.user))
        .order_by(SubjectBinding.due_at, SubjectBinding.id)
        .limit(limit)
    ))


def list_verified_bindings(subject_id: int) -> list[SubjectBinding]:
    """Every account that acts for the subject now."""
    return list(db.session.scalars(
        select(SubjectBinding)
        .where(SubjectBinding.subject_id == subject_id, SubjectBinding.state.in_(GRANTS_ACCESS))
        .options(joinedload(SubjectBinding.user))
        .order_by(SubjectBinding.id)
    ))


def list_documents(binding: SubjectBinding) -> list[BindingDocument]:
    return list(db.session.scalars(
        select(BindingDocument).where(BindingDocument.binding_id == binding.id).order_by(BindingDocument.id)
    ))


@dataclass(frozen=True)
class DocumentDownload:
    source: Path | BinaryIO  # for send_file: a path (local storage) or the bytes
    filename: str
    content_type: str
    etag: str  # the content's SHA-256: the same on every host


def get_document(binding_id: int, document_id: int) -> DocumentDownload:
    """A document of a binding (for the officers); NotFound if it is another's or the blob is gone."""
    document = db.session.get(BindingDocument, document_id)
    if document is None or document.binding_id != binding_id:
        raise NotFound()
    source = download_source(document.sha256)
    if source is None:
        raise NotFound()
    return DocumentDownload(source, document.filename, document.content_type, document.sha256)


def list_binding_events(binding: SubjectBinding) -> list[BindingEvent]:
    return list(db.session.scalars(
        select(BindingEvent).where(BindingEvent.binding_id == binding.id).order_by(BindingEvent.seq)
    ))
