"""Messages as they leave: an e-mail composed from its notices (the recipient and send-time
fields read now, a Message-ID the same on every resend), a webhook signed as it goes, and the
sending itself, which runs in the dispatcher's sending threads with no database at hand.

The dispatcher (``dispatch``) calls ``compose`` in its short pre-send transaction and runs what
it returns outside any transaction. ``ATTACHMENTS`` and ``SEND_TIME_FIELDS`` are the hooks other
packages register makers in.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import mimetypes
import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage

from flask import current_app

from app.errors import InvalidInput
from app.extensions import db
from app.models import Department, Notification, User, WebhookSubscription
from app.models.enums import Channel
from app.services import webhook_url
from app.services.notices.messages import render
from app.services.notices.webhook_post import PostFailed, post


class DeliveryFailed(Exception):
    """A message could not be delivered; ``host_failed``: the host itself failed (it counts
    towards its circuit breaker), as opposed to a notice that cannot go anywhere."""

    def __init__(self, message: str, *, host_failed: bool = False):
        super().__init__(message)
        self.host_failed = host_failed


# E-mail attachments made at send time, per template: ``make(notice) -> (filename, bytes)`` or
# None, typed by the file name (.csv, .pdf). The package that owns the data registers its maker (records: a run's retired records).
ATTACHMENTS: dict[str, Callable[[Notification], tuple[str, bytes] | None]] = {}

# Payload fields made at send time, per template: ``make(notice) -> dict`` merged into what the
# e-mail says and never stored, or None when the message has nothing left to say (its link was
# used or replaced meanwhile): then it is not sent, and counts as done. The package that owns the
# secret registers its maker (recovery: a password link's token, minted only as its mail goes out,
# so that the outbox never holds a usable one; each attempt mints a new one). What a maker writes
# is committed before the message leaves.
SEND_TIME_FIELDS: dict[str, Callable[[Notification], dict | None]] = {}


def compose(group: list[Notification]) -> Callable[[], None] | None:
    """What sends the group's message, made now from the database; None when there is nothing to send."""
    first = group[0]
    if first.channel == Channel.INBOX:
        return None  # the row is the inbox entry: delivered once it is marked sent
    if first.channel == Channel.EMAIL:
        return _compose_email(group)
    if first.channel == Channel.WEBHOOK:
        return _compose_webhook(first)
    raise DeliveryFailed(f"unknown channel {first.channel}")  # pragma: no cover - the CHECK constraint knows no other


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


def _compose_email(group: list[Notification]) -> Callable[[], None] | None:
    config = current_app.config
    address, locale = _recipient(group[0])
    if not address:
        raise DeliveryFailed("the recipient has no e-mail address (or is deactivated)")
    payloads, made_fields = [], []
    for notice in group:
        made = SEND_TIME_FIELDS[notice.template](notice) if notice.template in SEND_TIME_FIELDS else {}
        if made is None:
            return None  # nothing left to say: done without a message
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
            maintype, _, subtype = (mimetypes.guess_type(filename)[0] or "application/octet-stream").partition("/")
            message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    settings = {key: config.get(key) for key in
                ("SMTP_SSL", "SMTP_HOST", "SMTP_PORT", "SMTP_TIMEOUT", "SMTP_STARTTLS", "SMTP_USER", "SMTP_PASSWORD")}
    return functools.partial(_send_email, settings, message)


def _send_email(settings: dict, message: EmailMessage) -> None:
    """In a sending thread: one SMTP conversation, bounded by ``SMTP_TIMEOUT`` at each step."""
    try:
        smtp_class = smtplib.SMTP_SSL if settings["SMTP_SSL"] else smtplib.SMTP
        with smtp_class(settings["SMTP_HOST"], int(settings["SMTP_PORT"]), timeout=settings["SMTP_TIMEOUT"]) as smtp:
            if settings["SMTP_STARTTLS"]:
                smtp.starttls()
            if settings["SMTP_USER"]:
                smtp.login(settings["SMTP_USER"], settings["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailed(f"SMTP: {error}", host_failed=True) from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp.body``, as the X-Casedesk-Signature header carries it."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _compose_webhook(notice: Notification) -> Callable[[], None]:
    subscription_id = notice.payload.get("_subscription")
    subscription = db.session.get(WebhookSubscription, subscription_id) if subscription_id else None
    if subscription is None or not subscription.is_active:
        raise DeliveryFailed("the webhook subscription no longer exists or is inactive")
    payload = {k: v for k, v in notice.payload.items() if not k.startswith("_")}
    body = json.dumps(
        {"key": notice.key, "template": notice.template, "payload": payload,
         "created_at": notice.created_at.isoformat()},
        ensure_ascii=False, separators=(",", ":"),
    ).encode()
    config = current_app.config
    return functools.partial(_post_webhook, subscription.url, subscription.secret, notice.key, body,
                             config["WEBHOOK_TIMEOUT"], config["WEBHOOK_CA_BUNDLE"])


def _post_webhook(url: str, secret: str, key: str, body: bytes, timeout: float, ca_bundle: str | None) -> None:
    """In a sending thread: POST the notice, signed, to an address checked now (the name may
    resolve elsewhere than when it was subscribed), connecting to the address just checked; a
    redirect is a failure."""
    try:
        target = webhook_url.check(url)
    except InvalidInput as refused:
        raise DeliveryFailed(f"webhook address refused: {refused}") from None
    # Wall time, not the platform clock: the receiver checks freshness against its own clock,
    # and a rehearsal run with --now must not sign deliveries as if sent in another hour. Signed
    # here, as it leaves, not when it was prepared.
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "credit-case-desk",
        "X-Casedesk-Key": key,
        "X-Casedesk-Timestamp": timestamp,
        "X-Casedesk-Signature": sign(secret, timestamp, body),
    }
    try:
        status = post(target, body, headers, timeout=timeout, ca_bundle=ca_bundle)
    except PostFailed as error:
        raise DeliveryFailed(f"webhook unreachable: {error}", host_failed=True) from None
    if 300 <= status < 400:
        raise DeliveryFailed(f"webhook answered {status}; redirects are not followed", host_failed=True)
    if not 200 <= status < 300:
        raise DeliveryFailed(f"webhook answered {status}", host_failed=True)
