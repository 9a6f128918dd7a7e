"""The platform's figures for the metrics collector, read at scrape time: a handful of grouped
counts on indexed columns, so a scrape every 15 s costs the database little."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import CreditRecord, JobRun, Notification
from app.models.enums import IN_PUBLICITY, NotificationStatus

# What is still to deliver or was given up on; sent notices are history, not backlog.
BACKLOG_STATES = (NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.DEAD)


@dataclass
class OutboxFigures:
    backlog: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, state) -> notices
    oldest_pending: dict[str, datetime] = field(default_factory=dict)  # channel -> created_at


@dataclass
class JobFigures:
    name: str
    runs: int
    failures: int
    last_duration_ms: int | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_failed: bool


@dataclass
class PlatformFigures:
    at: datetime
    outbox: OutboxFigures
    records_due: int  # publicity ended, not yet retired (the expiry job is behind by these)
    jobs: list[JobFigures]


def platform_figures() -> PlatformFigures:
    outbox = OutboxFigures()
    rows = db.session.execute(
        select(Notification.channel, Notification.status, func.count())
        .where(Notification.status.in_(BACKLOG_STATES))
        .group_by(Notification.channel, Notification.status))
    outbox.backlog = {(channel, status): count for channel, status, count in rows}
    rows = db.session.execute(
        select(Notification.channel, func.min(Notification.created_at))
        .where(Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)))
        .group_by(Notification.channel))
    outbox.oldest_pending = {channel: oldest for channel, oldest in rows if oldest is not None}
    due = db.session.scalar(
        select(func.count()).select_from(CreditRecord)
        .where(CreditRecord.state.in_(IN_PUBLICITY), CreditRecord.publicity_end < clock.today()))
    jobs = [
        JobFigures(name=row.name, runs=row.runs, failures=row.failures, last_duration_ms=row.last_duration_ms,
                   last_started_at=row.last_started_at, last_finished_at=row.last_finished_at,
                   last_failed=row.last_error is not None)
        for row in db.session.scalars(select(JobRun).order_by(JobRun.name))
    ]
    return PlatformFigures(at=clock.now(), outbox=outbox, records_due=due or 0, jobs=jobs)
