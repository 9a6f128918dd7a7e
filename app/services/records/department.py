"""A department's own records outside any objection: the record page with its versions, and
correction or revocation by the department, each a lifecycle event with who and why.

Use cases own their transaction (``correct_department_record``, ``revoke_department_record``);
``get_department_record_page`` is a query. Another department's record is as good as absent.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import CreditRecord, RecordEvent, User
from app.services.records.lifecycle import DEPARTMENT_PAGE, correct_record, revoke_record
from app.services.transaction import use_case

STALE = _l("Someone changed this record in the meantime. Reload the page, check the changes and try again.")
REASON_REQUIRED = _l("Please give a reason.")
NOT_IN_PUBLICITY = _l("The record is no longer in publicity: it can no longer be corrected or revoked.")


@dataclass(frozen=True)
class RecordPage:
    record: CreditRecord
    events: list[RecordEvent]  # its history, oldest first: every version with who, when and why
    actors: dict[int, User]


def get_department_record_page(department_id: int, record_id: int) -> RecordPage:
    """One of the department's records with its history; NotFound for another department's."""
    record = _record_of(department_id, record_id)
    events = list(db.session.scalars(
        select(RecordEvent).where(RecordEvent.record_id == record.id).order_by(RecordEvent.seq)))
    ids = {e.actor_id for e in events if e.actor_id}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return RecordPage(record=record, events=events, actors=actors)


@use_case
def correct_department_record(actor: User, record_id: int, expected_version: int | None, corrections: dict,
                              reason: str | None) -> CreditRecord:
    """The department corrects its own record: a new version with its event (before, after,
    who, why), dates recomputed when class or decision date change, subscribers told."""
    record = _lock_for_change(actor, record_id, expected_version, reason)
    correct_record(record, corrections, actor, reason.strip(), source=DEPARTMENT_PAGE)
    db.session.commit()
    return record


@use_case
def revoke_department_record(actor: User, record_id: int, expected_version: int | None,
                             reason: str | None) -> CreditRecord:
    """The department revokes its own record (its decision was withdrawn): out of publicity at
    once, with its event and the notice to subscribers."""
    record = _lock_for_change(actor, record_id, expected_version, reason)
    revoke_record(record, actor, None, reason.strip(), source=DEPARTMENT_PAGE)
    db.session.commit()
    return record


def _record_of(department_id: int | None, record_id: int) -> CreditRecord:
    record = db.session.get(CreditRecord, record_id)
    if record is None or department_id is None or record.department_id != department_id:
        raise NotFound()
    return record


def _lock_for_change(actor: User, record_id: int, expected_version: int | None, reason: str | None) -> CreditRecord:
    record = db.session.scalar(
        select(CreditRecord).where(CreditRecord.id == record_id).with_for_update()
        .execution_options(populate_existing=True))
    if record is None or actor.department_id is None or record.department_id != actor.department_id:
        raise NotFound()
    if expected_version is not None and expected_version != record.version:
        raise Conflict(STALE)
    if not (reason or "").strip():
        raise InvalidInput(REASON_REQUIRED)
    if not record.in_publicity:
        raise Conflict(NOT_IN_PUBLICITY)
    return record
