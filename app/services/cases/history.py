"""A case's history: its append-only events and the files attached along the way.

Steps inside the caller's transaction: they add rows and never commit.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Attachment, Case, CaseEvent, User
from app.services.cases import files
from workflows import CASE_WORKFLOWS, CLAIM

if TYPE_CHECKING:  # transitions imports this module: the name is for the annotation only
    from app.services.cases.transitions import Action


def attach(case: Case, user: User, upload: files.Upload, content_type: str) -> Attachment:
    attachment = Attachment(
        case_id=case.id,
        uploaded_by_id=user.id,
        purpose=upload.purpose,
        filename=files.safe_filename(upload.filename),
        content_type=content_type,
        size_bytes=len(upload.data),
        sha256=files.store(upload.data),
    )
    db.session.add(attachment)
    return attachment


def event_data(action: Action) -> dict | None:
    data = {}
    if action.assignee_id:
        data["assignee_id"] = action.assignee_id
    elif action.trigger == CLAIM:
        data["assignee_id"] = None  # the actor
    if action.department_id:
        data["department_id"] = action.department_id
    if action.corrections:
        data["corrections"] = action.corrections
    if action.verification:
        data["verification"] = action.verification
    if action.uploads:
        data["files"] = [files.safe_filename(u.filename) for u in action.uploads]
    return data or None


def append_event(case, actor, trigger, from_state, to_state, reason, data) -> CaseEvent:
    # The next number is computed in the INSERT itself and read back with RETURNING
    # (``EventColumns.seq``): no look-up first. The transition holds the case's row lock.
    if case.id is None:
        db.session.flush()  # a case built in this transaction: its id first
    seq = select(func.coalesce(func.max(CaseEvent.seq), 0) + 1).where(CaseEvent.case_id == case.id).scalar_subquery()
    event = CaseEvent(
        case_id=case.id, seq=seq, at=clock.now(), actor_id=actor.id if actor else None,
        trigger=trigger, from_state=from_state, to_state=to_state,
        reason=(reason or "").strip() or None, data=data,
    )
    db.session.add(event)
    return event



# The triggers by which a department answers with a finding (a reply to a referral).
_FINDING_TRIGGERS = tuple(dict.fromkeys(t.trigger for w in CASE_WORKFLOWS.values() for t in w.transitions
                                        if t.findings))


def proposed_corrections(case: Case) -> dict:
    """The corrected fields of the department's last reply on the case (empty if none)."""
    reply = db.session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger.in_(_FINDING_TRIGGERS))
        .order_by(CaseEvent.seq.desc()).limit(1)
    )
    return dict(((reply.data if reply is not None else None) or {}).get("corrections") or {})


def list_events(case: Case) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))
