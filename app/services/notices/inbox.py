"""The outbox as people see it: a user's in-app notices, and notices put back in line."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select, tuple_

from app import clock
from app.errors import NotFound
from app.extensions import db
from app.models import Notification, User
from app.models.enums import Channel, NotificationStatus
from app.services.notices.messages import DIGESTED, render
from app.services.transaction import use_case

LINES_PER_ENTRY = 10  # the first lines of a digest in the inbox; the entry says how many more there are


def list_retryable(ids: list[int]) -> list[Notification]:
    """Those of the notices ``ids`` that may be sent again (dead or still waiting), by id."""
    return list(db.session.scalars(
        select(Notification).where(
            Notification.id.in_(set(ids)),
            Notification.status.in_([NotificationStatus.DEAD, NotificationStatus.PENDING]),
        ).order_by(Notification.id)
    ))


def requeue(notices: list[Notification]) -> None:
    """Step: put the notices back in line now, with a fresh set of attempts (no commit)."""
    now = clock.now()
    for notice in notices:
        notice.status = NotificationStatus.PENDING
        notice.attempts = 0
        notice.next_attempt_at = now
    db.session.flush()


@use_case
def retry_notices(ids: list[int]) -> int:
    """Put dead (or waiting) notices back in line now (the operator's ``outbox retry``)."""
    notices = list_retryable(ids)
    if not notices and ids:
        raise NotFound()
    requeue(notices)
    db.session.commit()
    return len(notices)


def _delivered_to(user: User):
    """The in-app notices delivered to the user, and for department users to their department."""
    recipient = Notification.recipient_user_id == user.id
    if user.department_id:
        recipient = or_(recipient, Notification.recipient_department_id == user.department_id)
    return and_(recipient, Notification.channel == Channel.INBOX, Notification.status == NotificationStatus.SENT)


def list_inbox(user: User, limit: int = 50) -> list[Notification]:
    """A user's in-app notices one by one, newest first (the API's list)."""
    return list(db.session.scalars(
        select(Notification).where(_delivered_to(user)).order_by(Notification.created_at.desc()).limit(limit)
    ))


@dataclass(frozen=True)
class InboxEntry:
    """One entry of the inbox: a notice, or the digest of the notices of one digested template
    delivered in one dispatch run (as the e-mail puts them in one message)."""

    at: datetime
    template: str
    count: int
    subject: str
    body: str


def inbox_entries(user: User, locale: str, limit: int = 20) -> list[InboxEntry]:
    """The user's inbox as entries, newest first: in two queries whatever the digests hold."""
    digest = case((Notification.template.in_(DIGESTED), literal(0)), else_=Notification.id)
    groups = db.session.execute(
        select(Notification.template, Notification.sent_at, digest.label("single"), func.count().label("n"))
        .where(_delivered_to(user))
        .group_by(Notification.template, Notification.sent_at, digest)
        .order_by(Notification.sent_at.desc(), func.max(Notification.id).desc())
        .limit(limit)
    ).all()
    if not groups:
        return []
    place = func.row_number().over(partition_by=(Notification.template, Notification.sent_at, digest),
                                   order_by=Notification.id).label("place")
    ranked = (
        select(Notification.template, Notification.sent_at, digest.label("single"), Notification.payload, place)
        .where(_delivered_to(user),
               tuple_(Notification.template, Notification.sent_at).in_({(g.template, g.sent_at) for g in groups}))
        .subquery()
    )
    payloads: dict[tuple, list[dict]] = {}
    for row in db.session.execute(
        select(ranked).where(ranked.c.place <= LINES_PER_ENTRY).order_by(ranked.c.place)
    ):
        payloads.setdefault((row.template, row.sent_at, row.single), []).append(row.payload)
    entries = []
    for group in groups:
        message = render(group.template, payloads.get((group.template, group.sent_at, group.single), [{}]),
                         locale, total=group.n)
        entries.append(InboxEntry(group.sent_at, group.template, group.n, message.subject, message.body))
    return entries
