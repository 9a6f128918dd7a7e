"""Admin console: figures for the home page, the outbox, asking the scheduler to run a job now.

Every change an admin makes here is audited in the transaction of the change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.identifiers import scrub
from app.models import CreditRecord, Department, JobRun, Notification, Policy, Subject, User
from app.models.enums import NotificationStatus
from app.services.admin.jobs import JOBS, ensure_job_row, wall_now
from app.services.audit import audit_admin_change
from app.services.notices.inbox import list_retryable, requeue
from app.services.policy import NoPolicy, get_policy_in_force
from app.services.transaction import use_case


@dataclass(frozen=True)
class Overview:
    users_by_role: dict[str, int]
    departments: int
    subjects: int
    records: int
    policy: Policy | None
    outbox: dict[str, int]


def platform_overview() -> Overview:
    return Overview(
        users_by_role=dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all()),
        departments=db.session.scalar(select(func.count()).select_from(Department)),
        subjects=db.session.scalar(select(func.count()).select_from(Subject)),
        records=db.session.scalar(select(func.count()).select_from(CreditRecord)),
        policy=_policy_or_none(),
        outbox=dict(db.session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all()),
    )


OUTBOX_PAGE = 50
RETRY_LIMIT = 500  # ids in one retry: a page or a few, never the whole table


@dataclass(frozen=True)
class OutboxFilter:
    status: str | None = None
    channel: str | None = None
    template: str | None = None
    text: str | None = None  # in the key or the recipient's name, user name, e-mail or code


@dataclass(frozen=True)
class OutboxRow:
    notice: Notification
    recipient: str  # the user's or the department's name, read now

    @property
    def last_error(self) -> str | None:
        """The last delivery error, identity numbers masked."""
        return scrub(self.notice.last_error) if self.notice.last_error else None

    @property
    def retryable(self) -> bool:
        return self.notice.status in (NotificationStatus.DEAD, NotificationStatus.PENDING)


def list_outbox(filters: OutboxFilter, before_id: int | None = None,
                limit: int | None = None) -> tuple[list[OutboxRow], int | None]:
    """Notices newest first, filtered, one keyset page on the id; returns (rows, next page's ``before_id``)."""
    limit = limit or OUTBOX_PAGE
    stmt = (
        select(Notification, User.display_name, Department.name)
        .outerjoin(User, User.id == Notification.recipient_user_id)
        .outerjoin(Department, Department.id == Notification.recipient_department_id)
        .order_by(Notification.id.desc())
    )
    if filters.status:
        stmt = stmt.where(Notification.status == filters.status)
    if filters.channel:
        stmt = stmt.where(Notification.channel == filters.channel)
    if filters.template:
        stmt = stmt.where(Notification.template == filters.template)
    if filters.text:
        like = f"%{filters.text.strip().lower()}%"
        stmt = stmt.where(or_(
            func.lower(Notification.key).like(like), func.lower(User.username).like(like),
            func.lower(User.display_name).like(like), func.lower(User.email).like(like),
            func.lower(Department.code).like(like), func.lower(Department.name).like(like),
            func.lower(Department.contact_email).like(like),
        ))
    if before_id is not None:
        stmt = stmt.where(Notification.id < before_id)
    rows = [OutboxRow(notice, user_name or department_name or "")
            for notice, user_name, department_name in db.session.execute(stmt.limit(limit + 1))]
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].notice.id
    return rows, None


@use_case
def retry_outbox_notices(actor: User, ids: list[int]) -> int:
    """Put the chosen dead or waiting notices back in line now; audited "outbox.retry" with their ids."""
    if not ids:
        raise InvalidInput(_l("Choose the notices to retry."))
    if len(ids) > RETRY_LIMIT:
        raise InvalidInput(_l("Retry at most %(n)d notices at a time.", n=RETRY_LIMIT))
    notices = list_retryable(ids)
    if not notices:
        raise NotFound(_l("None of the chosen notices can be retried (already sent, or no longer there)."))
    before = {"notices": [{"id": n.id, "status": n.status, "attempts": n.attempts,
                           "last_error": scrub(n.last_error)[:200] if n.last_error else None} for n in notices]}
    chosen = [n.id for n in notices]
    audit_admin_change(actor, "outbox.retry", "notification", chosen[0] if len(chosen) == 1 else None,
                       before, {"ids": chosen, "status": NotificationStatus.PENDING.value, "attempts": 0})
    requeue(notices)
    db.session.commit()  # the change and its audit row together
    return len(notices)


@dataclass(frozen=True)
class JobRequest:
    job: str
    requested_at: datetime
    already: bool  # it was already waiting: the earlier request stands


@use_case
def request_job_run(actor: User, name: str) -> JobRequest:
    """Ask the scheduler to run a job now (it looks every ``JOB_POLL_SECONDS``); audited "job.run".

    The job runs in the scheduler process, under its lock, never in the web request: a long
    sweep would hold the request, and on SQLite the database's write lock, for its whole run.
    A job running when asked runs again after; asked twice, it runs once.
    """
    if name not in JOBS:
        raise NotFound()
    ensure_job_row(name)
    row = db.session.get(JobRun, name, with_for_update=True)
    already = row.requested_at is not None
    if not already:
        row.requested_at, row.requested_by_id = wall_now(), actor.id
    audit_admin_change(actor, "job.run", "job", None, None,
                       {"job": name, "queued": True, "requested_at": row.requested_at.isoformat(),
                        "already_queued": already})
    db.session.commit()  # the request and its audit row together
    return JobRequest(name, row.requested_at, already)


def _policy_or_none() -> Policy | None:
    try:
        return get_policy_in_force()
    except NoPolicy:
        return None
