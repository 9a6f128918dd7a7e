"""The outbox: notices are written here, in the transaction that causes them.

One notice fans out to a row per channel: the in-app inbox always, e-mail when the recipient
has an address and SMTP is configured, and a signed webhook per matching subscription of the
department (or of a downstream platform that takes every department's notices). An e-mail to
an address with no account behind it (a sign-up's link) is one row of its own (``enqueue_email``).
Each row has
a unique key; writing the same key twice is a no-op, so a second sweep or a retried job never
produces a notice twice. Delivery is the dispatcher's job (``app.services.dispatch``).
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from app import clock
from app.extensions import db
from app.models import Department, Notification, User, WebhookSubscription
from app.models.enums import Channel, NotificationStatus


def enqueue(
    key: str,
    template: str,
    payload: dict,
    *,
    user_id: int | None = None,
    department_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Write a notice to a user or a department. Returns whether it was new."""
    if (user_id is None) == (department_id is None):
        raise ValueError("a notice goes to a user or to a department")
    recipient = {"recipient_user_id": user_id, "recipient_department_id": department_id}
    new = _insert(key, Channel.INBOX, template, payload, recipient, not_before)
    if not new:
        return False
    email = smtp_configured() and _address(user_id, department_id)
    if email:
        _insert(f"{key}:email", Channel.EMAIL, template, payload, recipient, not_before)
    if department_id is not None:
        for subscription in subscriptions_for(department_id, template):
            _insert(
                f"{key}:webhook:{subscription.id}", Channel.WEBHOOK, template,
                {**payload, "_subscription": subscription.id}, recipient, not_before,
            )
    return True


def enqueue_email(key: str, template: str, payload: dict, address: str) -> bool:
    """Write an e-mail to ``address``, which no account need have: no inbox, no webhook.

    Written only when SMTP is configured (nothing could deliver it otherwise). Returns whether
    it was new: a key already written (e.g. one per address and hour) writes nothing.
    """
    address = (address or "").strip()
    if not address:
        raise ValueError("an e-mail needs an address")
    if not smtp_configured():
        return False
    return _insert(key, Channel.EMAIL, template, payload, {"recipient_address": address}, None)


def _address(user_id: int | None, department_id: int | None) -> str | None:
    """The recipient's address: from the session when it holds the account (the applicant who
    just submitted, the officer acting), else one look-up by key."""
    if user_id:
        user = db.session.get(User, user_id)
        return user.email if user is not None else None
    department = db.session.get(Department, department_id)
    return department.contact_email if department is not None else None


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def subscriptions_for(department_id: int, template: str) -> list[WebhookSubscription]:
    rows = db.session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.is_active.is_(True),
            or_(WebhookSubscription.department_id == department_id, WebhookSubscription.department_id.is_(None)),
        )
    ).all()
    return [s for s in rows if "*" in s.events or template in s.events]


def _insert(key, channel, template, payload, recipient, not_before) -> bool:
    now = clock.now()
    values = dict(
        key=key, channel=channel, template=template, payload=payload, status=NotificationStatus.PENDING,
        attempts=0, next_attempt_at=not_before or now, created_at=now, **recipient,
    )
    return db.session.execute(_insert_statement(db.session.get_bind().dialect.name), values).scalar() is not None


_INSERTS: dict[str, object] = {}  # per dialect


def _insert_statement(dialect: str):
    """``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id`` on the table, built once: the
    row comes as the parameters (no statement built, coerced and keyed anew for every notice)."""
    statement = _INSERTS.get(dialect)
    if statement is None:
        table = Notification.__table__
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _INSERTS[dialect] = (insert(table).on_conflict_do_nothing(index_elements=["key"])
                                         .returning(table.c.id))
    return statement
