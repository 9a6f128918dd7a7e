"""Delivery of the outbox to a real SMTP server and a real webhook receiver on 127.0.0.1."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from app import clock
from app.models import Notification, WebhookSubscription
from app.models.enums import Channel, NotificationStatus, Role
from app.services.notices.delivery import sign
from app.services.notices.dispatch import dispatch_pending
from app.services.notices.inbox import retry_notices
from app.services.notices.outbox import enqueue
from tests import smtp as smtp_server
from tests.factories import make_department, make_user


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp(app):
    with smtp_server.serving(app, _Inbox()) as inbox:
        yield inbox


class _Receiver:
    """A webhook receiver that checks the signature; answers with ``status``."""

    def __init__(self, secret: str, status: int = 204):
        self.secret, self.status, self.calls = secret, status, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = sign(receiver.secret, self.headers["X-Casedesk-Timestamp"], body)
                receiver.calls.append({
                    "valid": expected == self.headers["X-Casedesk-Signature"],
                    "key": self.headers["X-Casedesk-Key"],
                    "body": json.loads(body),
                })
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def start(secret="s3cret-for-tests", status=204):
        r = _Receiver(secret, status)
        made.append(r)
        return r

    yield start
    for r in made:
        r.close()


def _rows(db, **where):
    stmt = select(Notification)
    for column, value in where.items():
        stmt = stmt.where(getattr(Notification, column) == value)
    return db.session.scalars(stmt.order_by(Notification.id)).all()


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_a_notice_reaches_the_smtp_server_once(db, smtp):
    department = make_department(contact_email="credit@dept.example.cn")
    enqueue("case-ref:1", "case_referred", {"case": "YY-2026-000001"}, department_id=department.id)
    db.session.commit()
    assert {n.channel for n in _rows(db)} == {Channel.INBOX, Channel.EMAIL}
    first = dispatch_pending()
    second = dispatch_pending()
    assert first.sent == 2 and second.claimed == 0
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert recipients == ["credit@dept.example.cn"]
    assert _subject(message) == "转办核查：YY-2026-000001"
    assert "YY-2026-000001" in message.get_payload(decode=True).decode()
    assert all(n.status == NotificationStatus.SENT for n in _rows(db))


def test_reminders_to_one_person_go_out_as_one_digest(db, smtp):
    supervisor = make_user(Role.SUPERVISOR, email="boss@platform.example.cn")
    for n in range(3):
        enqueue(f"breach:{n}", "sla_breached", {"case": f"YY-2026-00000{n}", "due_at": "2026-11-20"},
                       user_id=supervisor.id)
    db.session.commit()
    result = dispatch_pending()
    assert result.sent == 6  # three inbox rows, three e-mail rows
    assert len(smtp.messages) == 1
    body = smtp.messages[0][1].get_payload(decode=True).decode()
    assert all(f"YY-2026-00000{n}" in body for n in range(3))
    assert "共3项" in _subject(smtp.messages[0][1])


def test_english_speakers_get_the_english_variant(db, smtp):
    user = make_user(Role.APPLICANT, email="a@example.com", locale="en")
    enqueue("sub:1", "case_submitted", {"case": "TS-2026-000009"}, user_id=user.id)
    db.session.commit()
    dispatch_pending()
    assert _subject(smtp.messages[0][1]) == "Application submitted: TS-2026-000009"


def test_webhook_is_signed_and_delivered_once(db, receiver):
    hook = receiver()
    department = make_department()
    db.session.add(WebhookSubscription(department_id=department.id, name="dept system", url=hook.url,
                                       secret=hook.secret, events=["records_retired"]))
    db.session.flush()
    enqueue("retired:1", "records_retired", {"count": 2, "records": ["A", "B"]}, department_id=department.id)
    enqueue("ref:1", "case_referred", {"case": "YY-1"}, department_id=department.id)  # not subscribed
    db.session.commit()
    dispatch_pending()
    dispatch_pending()
    assert len(hook.calls) == 1
    call = hook.calls[0]
    assert call["valid"] and call["key"].startswith("retired:1:webhook:")
    assert call["body"]["payload"] == {"count": 2, "records": ["A", "B"]}


def test_a_downstream_platform_subscription_gets_every_departments_notices(db, receiver):
    hook = receiver()
    db.session.add(WebhookSubscription(department_id=None, name="joint sanctions", url=hook.url, secret=hook.secret))
    db.session.flush()
    for department in (make_department(), make_department()):
        enqueue(f"revoked:{department.id}", "record_revoked", {"record": "R", "case": "C"},
                       department_id=department.id)
    db.session.commit()
    dispatch_pending()
    assert len(hook.calls) == 2 and all(c["valid"] for c in hook.calls)


def test_a_failing_receiver_is_retried_with_back_off_then_dead(app, db, receiver):
    hook = receiver(status=500)
    department = make_department()
    db.session.add(WebhookSubscription(department_id=department.id, name="flaky", url=hook.url, secret=hook.secret))
    db.session.flush()
    enqueue("ref:9", "case_referred", {"case": "YY-9"}, department_id=department.id)
    db.session.commit()
    webhook = _rows(db, channel=Channel.WEBHOOK)[0]
    delays = []
    with clock.frozen_clock(clock.local(clock.now()).replace(tzinfo=None)) as frozen:
        for attempt in range(1, app.config["NOTIFY_MAX_ATTEMPTS"] + 1):
            dispatch_pending()
            db.session.refresh(webhook)
            assert webhook.attempts == attempt
            if webhook.status == NotificationStatus.DEAD:
                break
            delays.append((webhook.next_attempt_at - clock.now()).total_seconds())
            assert "500" in webhook.last_error
            assert dispatch_pending().claimed == 0  # not before its time
            frozen.set(clock.local(webhook.next_attempt_at).replace(tzinfo=None))
    assert webhook.status == NotificationStatus.DEAD
    assert len(hook.calls) == app.config["NOTIFY_MAX_ATTEMPTS"]
    assert delays[:4] == [60, 120, 240, 480]
    # an admin puts it back in line
    assert retry_notices([webhook.id]) == 1
    db.session.refresh(webhook)
    assert webhook.status == NotificationStatus.PENDING and webhook.attempts == 0


def test_smtp_down_means_retry_not_loss(app, db):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9)  # nothing listens on the discard port
    try:
        user = make_user(Role.OFFICER, email="o@platform.example.cn")
        enqueue("k:1", "sla_due_soon", {"case": "X", "due_at": "D"}, user_id=user.id)
        db.session.commit()
        result = dispatch_pending()
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25)
    assert result.retrying == 1 and result.sent == 1  # the inbox row went, the e-mail waits
    email = _rows(db, channel=Channel.EMAIL)[0]
    assert email.status == NotificationStatus.PENDING and "SMTP" in email.last_error


def test_a_claimed_notice_is_not_taken_by_a_second_dispatcher(app, db):
    from app.services.notices.dispatch import claim_due

    user = make_user(Role.OFFICER)
    enqueue("k:2", "case_submitted", {"case": "X"}, user_id=user.id)
    db.session.commit()
    assert len(claim_due(10)) == 1
    assert claim_due(10) == []  # claimed: invisible to the next dispatcher
    with clock.frozen_clock(clock.local(clock.now() + timedelta(seconds=app.config["NOTIFY_CLAIM_SECONDS"] + 1)).replace(tzinfo=None)):
        assert len(claim_due(10)) == 1  # the first dispatcher died: the claim lapsed


def test_outbox_retry_cli(app, db):
    user = make_user(Role.OFFICER)
    enqueue("k:3", "case_submitted", {"case": "X"}, user_id=user.id)
    row = _rows(db)[0]
    row.status = NotificationStatus.DEAD
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["outbox", "retry", str(row.id)])
    assert result.exit_code == 0 and "requeued 1" in result.output
    missing = app.test_cli_runner().invoke(args=["outbox", "retry", "987654"])
    assert missing.exit_code == 1


def test_a_message_sent_again_after_a_lapsed_claim_carries_the_same_message_id(app, db, smtp):
    """The one window for a repeat is a dispatcher that dies after the SMTP server accepted and
    before the outcome was stored: the second copy must be recognisable as the first."""
    user = make_user(Role.OFFICER, email="officer@platform.example.cn")
    enqueue("twice:1", "case_submitted", {"case": "YY-2026-000007"}, user_id=user.id)
    enqueue("other:1", "case_submitted", {"case": "YY-2026-000008"}, user_id=user.id)
    db.session.commit()
    dispatch_pending()
    email = db.session.scalars(select(Notification).where(Notification.key == "twice:1:email")).one()
    # As if the outcome was never stored: the claim stands, and lapses.
    email.status, email.sent_at = NotificationStatus.SENDING, None
    email.next_attempt_at = clock.now() + timedelta(seconds=app.config["NOTIFY_CLAIM_SECONDS"])
    db.session.commit()
    with clock.frozen_clock(clock.local(email.next_attempt_at + timedelta(seconds=1)).replace(tzinfo=None)):
        dispatch_pending()
    ids = [message["Message-ID"] for _, message in smtp.messages]
    assert len(ids) == 3 and ids[0] != ids[1]  # two notices, two ids
    first = next(i for (_, m), i in zip(smtp.messages, ids, strict=True) if "YY-2026-000007" in _subject(m))
    assert ids[2] == first  # the repeat: the same id
    assert first.endswith("@localhost>")  # the sender's domain (MAIL_FROM)
