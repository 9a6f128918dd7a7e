"""Deliver the outbox: in-app inbox, e-mail over SMTP, signed webhooks; retries with back-off.

A dispatcher first claims due notices in a short transaction (``SKIP LOCKED`` on PostgreSQL):
a claimed notice is invisible to a second dispatcher until its claim lapses. It then delivers
outside any transaction and records the outcome. Notices of a digested template for one
recipient go out as one message. A failed delivery is retried after 1, 2, 4 ... minutes;
after the last attempt the notice is dead, where admins see it and can retry it.

The one window for a double delivery is a dispatcher that dies after the receiver accepted a
message and before the outcome was recorded; every message carries the notice's key
(``Message-ID`` / ``X-Casedesk-Key``) so receivers can drop the repeat.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import and_, or_, select, update

from app import clock
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import Department, Notification, User, WebhookSubscription
from app.models.enums import Channel, NotificationStatus
from app.services import webhook_url
from app.services.notices.messages import DIGESTED, SECRET_FIELDS, render
from app.services.notices.webhook_post import PostFailed, post
from app.services.transaction import use_case


class DeliveryFailed(Exception):
    pass


# E-mail attachments made at send time, per template: ``make(notice) -> (filename, CSV bytes)``
# or None. The package that owns the data registers its maker (records: a run's retired records).
ATTACHMENTS: dict[str, Callable[[Notification], tuple[str, bytes] | None]] = {}

# Payload fields made at send time, per template: ``make(notice) -> dict`` merged into what the
# e-mail says and never stored, or None when the message has nothing left to say (its link was
# used or replaced meanwhile): then it is not sent, and counts as done. The package that owns the
# secret registers its maker (recovery: a password link's token, minted only as its mail goes out,
# so that the outbox never holds a usable one; each attempt mints a new one).
SEND_TIME_FIELDS: dict[str, Callable[[Notification], dict | None]] = {}


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    messages: int = 0


@use_case
def claim_due(limit: int) -> list[int]:
    """Take up to ``limit`` due notices for this dispatcher; returns their ids.

    A short transaction of its own, the dispatch job's first checkpoint: the claim must be
    committed before delivery starts, so that a second dispatcher skips these notices."""
    now = clock.now()
    config = current_app.config
    due = (
        select(Notification.id)
        .where(
            or_(Notification.status == NotificationStatus.PENDING, Notification.status == NotificationStatus.SENDING),
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.scalars(due))
    if ids:
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(
                status=NotificationStatus.SENDING,
                attempts=Notification.attempts + 1,
                next_attempt_at=now + timedelta(seconds=config["NOTIFY_CLAIM_SECONDS"]),
            )
        )
    db.session.commit()
    return ids


@use_case
def dispatch_pending(limit: int = 500) -> DispatchResult:
    """Deliver what is due now. Safe to run on several hosts at once.

    A job: it commits the claim, then the outcome of each message (its batch checkpoints)."""
    result = DispatchResult()
    ids = claim_due(limit)
    result.claimed = len(ids)
    if not ids:
        return result
    notices = db.session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)).all()
    for group in _groups(notices):
        result.messages += 1
        try:
            _deliver(group)
        except DeliveryFailed as error:
            for notice in group:
                _failed(notice, str(error), result)
        else:
            now = clock.now()
            for notice in group:
                notice.status, notice.sent_at, notice.last_error = NotificationStatus.SENT, now, None
                _forget_secrets(notice)
                result.sent += 1
        db.session.commit()
    return result


def _groups(notices: list[Notification]) -> list[list[Notification]]:
    """Digested e-mail notices go out together per recipient and template; the rest alone."""
    groups: dict[tuple, list[Notification]] = defaultdict(list)
    alone = []
    for notice in notices:
        if notice.channel == Channel.EMAIL and notice.template in DIGESTED:
            key = (notice.recipient_user_id, notice.recipient_department_id, notice.template)
            groups[key].append(notice)
        else:
            alone.append([notice])
    return list(groups.values()) + alone


def _forget_secrets(notice: Notification) -> None:
    """A sent message's single-use link leaves the outbox: whoever reads the table later cannot use it."""
    secret = SECRET_FIELDS.get(notice.template, ())
    if any(field in notice.payload for field in secret):
        notice.payload = {k: ("(sent)" if k in secret else v) for k, v in notice.payload.items()}


def _failed(notice: Notification, error: str, result: DispatchResult) -> None:
    config = current_app.config
    notice.last_error = error[:2000]
    if notice.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
        notice.status = NotificationStatus.DEAD
        result.dead += 1
        current_app.logger.warning("notice %s is dead after %d attempts: %s", notice.id, notice.attempts, error[:200])
        return
    delay = min(config["NOTIFY_BACKOFF_SECONDS"] * 2 ** (notice.attempts - 1), config["NOTIFY_BACKOFF_MAX_SECONDS"])
    notice.status = NotificationStatus.PENDING
    notice.next_attempt_at = clock.now() + timedelta(seconds=delay)
    result.retrying += 1


def _deliver(group: list[Notification]) -> None:
    first = group[0]
    if first.channel == Channel.INBOX:
        return  # the row is the inbox entry: delivered once it is marked sent
    if first.channel == Channel.EMAIL:
        _send_email(group)
    elif first.channel == Channel.WEBHOOK:
        _post_webhook(first)
    else:  # pragma: no cover - the CHECK constraint knows no other channel
        raise DeliveryFailed(f"unknown channel {first.channel}")


def _recipient(notice: Notification) -> tuple[str | None, str]:
    """Address and locale of the recipient, read now (so an address change takes effect); an
    e-mail to a bare address goes in the language its payload names (the form's), else Chinese."""
    if notice.recipient_address and not (notice.recipient_user_id or notice.recipient_department_id):
        return notice.recipient_address, str(notice.payload.get("locale") or "zh_CN")
    if notice.recipient_user_id:
        user = db.session.get(User, notice.recipient_user_id)
        return (user.email if user and user.is_active else None), (user.locale or "zh_CN") if user else "zh_CN"
    department = db.session.get(Department, notice.recipient_department_id)
    return (department.contact_email if department and department.is_active else None), "zh_CN"


def _message_id(group: list[Notification], made_fields: list[dict], mail_from: str) -> str:
    """One id per notice set and what was made for it at sending: a message resent after a
    dispatcher died carries the same id, so mail systems can drop the repeat (``make_msgid``
    would add the time, the pid and randomness). A field minted at sending (a new password
    link) makes it a new message, which must not be dropped."""
    made = json.dumps(made_fields, sort_keys=True, default=str) if any(made_fields) else ""
    digest = hashlib.sha256(("|".join(n.key for n in group) + made).encode()).hexdigest()[:32]
    domain = mail_from.rpartition("@")[2].strip(" >") or "casedesk"
    return f"<{digest}@{domain}>"


def _send_email(group: list[Notification]) -> None:
    config = current_app.config
    address, locale = _recipient(group[0])
    if not address:
        raise DeliveryFailed("the recipient has no e-mail address (or is deactivated)")
    payloads, made_fields = [], []
    for notice in group:
        made = SEND_TIME_FIELDS[notice.template](notice) if notice.template in SEND_TIME_FIELDS else {}
        if made is None:
            return  # nothing left to say: done without a message
        payloads.append({**notice.payload, **made})
        made_fields.append(made)
    text = render(group[0].template, payloads, locale)
    message = EmailMessage()
    message["Subject"] = text.subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = address
    message["Message-ID"] = _message_id(group, made_fields, config["MAIL_FROM"])
    message["X-Casedesk-Keys"] = ",".join(n.key for n in group)[:900]
    message.set_content(text.body)
    for notice in group:  # files made now from what the notice names (e.g. a run's retired records)
        made = ATTACHMENTS[notice.template](notice) if notice.template in ATTACHMENTS else None
        if made is not None:
            filename, content = made
            message.add_attachment(content, maintype="text", subtype="csv", filename=filename)
    try:
        smtp_class = smtplib.SMTP_SSL if config["SMTP_SSL"] else smtplib.SMTP
        with smtp_class(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=config["SMTP_TIMEOUT"]) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailed(f"SMTP: {error}") from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp.body``, as the X-Casedesk-Signature header carries it."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post_webhook(notice: Notification) -> None:
    """POST the notice, signed, to an address checked now (the name may resolve elsewhere than
    when it was subscribed), connecting to the address just checked; a redirect is a failure."""
    subscription_id = notice.payload.get("_subscription")
    subscription = db.session.get(WebhookSubscription, subscription_id) if subscription_id else None
    if subscription is None or not subscription.is_active:
        raise DeliveryFailed("the webhook subscription no longer exists or is inactive")
    try:
        target = webhook_url.check(subscription.url)
    except InvalidInput as refused:
        raise DeliveryFailed(f"webhook address refused: {refused}") from None
    payload = {k: v for k, v in notice.payload.items() if not k.startswith("_")}
    body = json.dumps(
        {"key": notice.key, "template": notice.template, "payload": payload,
         "created_at": notice.created_at.isoformat()},
        ensure_ascii=False, separators=(",", ":"),
    ).encode()
    # Wall time, not the platform clock: the receiver checks freshness against its own clock,
    # and a rehearsal run with --now must not sign deliveries as if sent in another hour.
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "credit-case-desk",
        "X-Casedesk-Key": notice.key,
        "X-Casedesk-Timestamp": timestamp,
        "X-Casedesk-Signature": sign(subscription.secret, timestamp, body),
    }
    config = current_app.config
    try:
        status = post(target, body, headers, timeout=config["WEBHOOK_TIMEOUT"], ca_bundle=config["WEBHOOK_CA_BUNDLE"])
    except PostFailed as error:
        raise DeliveryFailed(f"webhook unreachable: {error}") from None
    if 300 <= status < 400:
        raise DeliveryFailed(f"webhook answered {status}; redirects are not followed")
    if not 200 <= status < 300:
        raise DeliveryFailed(f"webhook answered {status}")


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


def list_inbox(user: User, limit: int = 50) -> list[Notification]:
    """A user's in-app notices, and for department users their department's."""
    recipient = Notification.recipient_user_id == user.id
    if user.department_id:
        recipient = or_(recipient, Notification.recipient_department_id == user.department_id)
    return list(
        db.session.scalars(
            select(Notification)
            .where(and_(recipient, Notification.channel == Channel.INBOX, Notification.status == NotificationStatus.SENT))
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )
