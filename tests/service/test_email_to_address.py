"""E-mail to an address with no account behind it (a sign-up's link): one outbox row, sent over SMTP."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.models import Notification
from app.models.enums import Channel, NotificationStatus
from app.services.notices.dispatch import dispatch_pending
from app.services.notices.outbox import enqueue_email
from tests.service import test_dispatch

smtp = test_dispatch.smtp  # the real SMTP server on the loopback (aiosmtpd)


def test_nothing_is_written_without_a_mail_service(db):
    assert enqueue_email("k:1", "sign_up_exists", {"sign_in": "x"}, "a@example.cn") is False
    assert db.session.scalars(select(Notification)).all() == []


def test_one_email_row_once_per_key_delivered_to_the_address(db, smtp):
    assert enqueue_email("k:1", "sign_up_exists", {"sign_in": "http://x/in", "locale": "en"}, "a@example.cn")
    assert not enqueue_email("k:1", "sign_up_exists", {"sign_in": "http://x/in"}, "a@example.cn")
    rows = db.session.scalars(select(Notification)).all()
    assert [(n.channel, n.recipient_address, n.recipient_user_id) for n in rows] == [
        (Channel.EMAIL, "a@example.cn", None)]  # no inbox: nobody to read it
    db.session.commit()
    assert dispatch_pending().sent == 1
    (recipients, message), = smtp.messages
    assert recipients == ["a@example.cn"] and "http://x/in" in message.get_payload(decode=True).decode()
    assert message["Subject"] == "An account already exists for this address"  # the payload's language
    assert rows[0].status == NotificationStatus.SENT


def test_a_link_that_failed_to_go_stays_in_the_outbox_for_the_retry(app, db):
    enqueue = {"key": "k:2", "template": "sign_up_link", "payload": {"link": "http://x/secret", "hours": 24},
               "address": "b@example.cn"}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9)  # nothing listens on the discard port
    try:
        enqueue_email(**enqueue)
        db.session.commit()
        dispatch_pending()
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25)
    notice = db.session.scalar(select(Notification))
    assert notice.status == NotificationStatus.PENDING and notice.payload["link"] == "http://x/secret"


def test_the_database_refuses_a_bare_address_on_another_channel(db):
    db.session.add(Notification(key="k:3", channel=Channel.INBOX, template="t", payload={},
                                recipient_address="c@example.cn", created_at=clock.now()))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
