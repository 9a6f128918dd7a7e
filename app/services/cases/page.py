"""What the case page shows, read in one query function, and the case's files to download.

The page is shared by every audience; what a user sees and may do is decided here, per case
(``get_case_for`` refuses a case the user may not see, ``available_actions`` gives the buttons).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from app import clock
from app.errors import NotFound
from app.extensions import db
from app.models import Attachment, Case, CaseEvent, Timer, User
from app.models.enums import Role, TimerStatus
from app.services.accounts import list_officers
from app.services.calendar import get_working_calendar
from app.services.cases import files
from app.services.cases.access import get_case_for
from app.services.cases.guards import proposed_not_accept_grounds, window_still_useful
from app.services.cases.history import list_events, proposed_corrections
from app.services.cases.transitions import available_actions, refused_actions
from workflows import Transition

STAFF_WHO_ASSIGN = (Role.OFFICER, Role.SUPERVISOR)


@dataclass(frozen=True)
class CasePage:
    case: Case
    events: list[CaseEvent]
    actors: dict[int, User]  # who acted in the events and uploaded the files, by id
    deadlines: list[tuple[Timer, int | None]]  # the clocks not stopped, with the working days left
    attachments: list[Attachment]
    actions: list[Transition]  # what the user may do now: the buttons
    refused: list[tuple[Transition, str]]  # what the user's role could do here but may not now, and why
    officers: list[User]  # whom the user may assign the case to (officers and supervisors only)
    proposed_grounds: list[str] = ()  # reasons for not accepting that the data show (staff only)
    about_case: Case | None = None  # the case whose handling a complaint is about
    # The record's fields as a correcting action's form starts: the record as it is, with what
    # the department's reply proposed over it (None when no action offered corrects).
    corrections: dict | None = None


def get_case_page(user: User, case_id: int) -> CasePage:
    """The case as ``user`` may see it; NotFound if they may not."""
    case = get_case_for(user, case_id)
    events = list_events(case)
    timers = db.session.scalars(
        select(Timer).where(Timer.case_id == case.id, Timer.status != TimerStatus.STOPPED).order_by(Timer.due_at)
    ).all()
    today, calendar = clock.today(), get_working_calendar()
    deadlines = [
        (t, calendar.working_days_between(today, clock.local(t.due_at).date()) if t.due_at else None)
        for t in timers if window_still_useful(case, t.clock)  # no reopen deadline once the one reopen was used
    ]
    attachments = list(db.session.scalars(
        select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)))
    # Who acted in the events and who uploaded each file, read at once.
    actor_ids = {e.actor_id for e in events if e.actor_id} | {a.uploaded_by_id for a in attachments}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    actions = available_actions(case, user)
    return CasePage(
        case=case, events=events, actors=actors, deadlines=deadlines, attachments=attachments,
        actions=actions, refused=refused_actions(case, user),
        officers=list_officers() if user.role in STAFF_WHO_ASSIGN else [],
        proposed_grounds=proposed_not_accept_grounds(case) if user.role in STAFF_WHO_ASSIGN else [],
        about_case=db.session.get(Case, case.about_case_id) if case.about_case_id else None,
        corrections=_corrections_form(case) if case.record and any(t.corrects for t in actions) else None,
    )


def _corrections_form(case: Case) -> dict:
    record = case.record
    shown = {"facts": record.facts, "sanction": record.sanction, "sanction_kinds": list(record.sanction_kinds or ()),
             "severity": record.severity, "decision_date": record.decision_date}
    proposed = proposed_corrections(case)
    if "decision_date" in proposed:
        proposed["decision_date"] = date.fromisoformat(proposed["decision_date"])
    return {**shown, **proposed}


@dataclass(frozen=True)
class Download:
    source: Path | BinaryIO  # for send_file: a path (local storage) or the bytes
    filename: str
    content_type: str
    etag: str  # the content's SHA-256: the same on every host


def get_download(user: User, case_id: int, attachment_id: int) -> Download:
    """A file of a case, only to those who may see the case; NotFound otherwise or if the blob is gone."""
    case = get_case_for(user, case_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.case_id != case.id:
        raise NotFound()
    source = files.download_source(attachment.sha256)
    if source is None:
        raise NotFound()
    return Download(source, attachment.filename, attachment.content_type, attachment.sha256)
