"""The outbox page speaks the reader's language: statuses, channels and notices by name, not code."""
from __future__ import annotations

import pytest

from app.labels import LABELS
from app.models import Notification
from app.models.enums import Channel, NotificationStatus, Role
from tests.factories import make_user
from tests.web.helpers import sign_in


def test_every_status_and_channel_has_a_name():
    assert set(LABELS["notice_status"]) == {s.value for s in NotificationStatus}
    assert set(LABELS["channel"]) == {c.value for c in Channel}


@pytest.mark.parametrize(("locale", "shown", "hidden"), [
    ("zh_CN", ["待发送", "发送失败", "邮件", "站内", "申请已提交"], [">pending<", ">dead<", ">email<", "<code>case_submitted"]),
    ("en", ["Waiting", "Undelivered", "E-mail", "Application submitted"], [">pending<", ">dead<", "<code>case_submitted"]),
])
def test_the_outbox_names_what_it_lists(client, db, locale, shown, hidden):
    officer = make_user(Role.OFFICER)
    for key, status, channel in (("a", NotificationStatus.PENDING, Channel.INBOX),
                                 ("b", NotificationStatus.DEAD, Channel.EMAIL)):
        db.session.add(Notification(key=key, status=status, channel=channel, template="case_submitted", payload={},
                                    attempts=0, recipient_user_id=officer.id))
    db.session.commit()
    sign_in(client, make_user(Role.ADMIN, locale=locale).username)
    page = client.get("/admin/outbox").get_data(as_text=True)
    for text in shown:
        assert text in page, text
    for text in hidden:
        assert text not in page, text
