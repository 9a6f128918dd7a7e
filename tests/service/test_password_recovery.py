"""Password recovery by e-mail (issue 13), through a real SMTP server on the loopback (aiosmtpd).

The outbox row of a password mail holds the link's id and never its token: the token is minted
when the mail is sent and only its hash is stored; a retried delivery mints a new one and the
older stops working; the link is used up by setting the password, which ends every session.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from email import message_from_bytes

import pytest
from sqlalchemy import func, select

from app.errors import Forbidden, Gone, InvalidInput, NotFound
from app.identifiers import validate
from app.models import AdminAudit, Notification, PasswordReset, UserSession
from app.models.enums import NotificationStatus, Role
from app.services import accounts, recovery, signup
from app.services.accounts import password_reset
from app.services.notices.dispatch import dispatch_pending
from tests import smtp as smtp_server
from tests.factories import make_user, uscc
from tests.service import test_dispatch

smtp = test_dispatch.smtp  # the real SMTP server on the loopback (aiosmtpd)

PREFIX = "http://casedesk.test/auth/password/"
LINK = re.compile(re.escape(PREFIX) + r"([A-Za-z0-9_-]{40,})")
NEW = "a new and rather long passphrase"


def _body(message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


def _tokens(inbox) -> list[str]:
    return [match.group(1) for _rcpt, message in inbox.messages for match in LINK.finditer(_body(message))]


def _mails(db) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.template == "password_reset_link")
                                   .order_by(Notification.id)))


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_outbox_holds_no_token_and_the_mail_one_that_works_once(db, smtp):
    user = make_user(Role.APPLICANT, email="Li.Ming@example.cn")
    recovery.request_recovery("li.ming@EXAMPLE.cn ", PREFIX, "zh_CN")
    (notice,) = _mails(db)
    reset = db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == user.id)).one()
    # The row says which link, never how to use it; the link has no token yet.
    assert notice.payload == {"reset": reset.id, "account": user.username, "link_prefix": PREFIX,
                              "minutes": 60, "locale": "zh_CN"}
    assert notice.recipient_address == "Li.Ming@example.cn"
    assert reset.token_hash is None and reset.created_by_id is None

    assert dispatch_pending().sent == 1
    ((rcpt, message),) = smtp.messages
    assert rcpt == ["Li.Ming@example.cn"] and user.username in _body(message)
    (token,) = _tokens(smtp)
    db.session.refresh(notice)
    db.session.refresh(reset)
    assert token not in json.dumps(notice.payload) and token not in str(notice.last_error)
    assert reset.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is stored

    assert accounts.complete_reset(token, NEW).id == user.id
    db.session.refresh(user)
    assert accounts.check_password(user, NEW)
    with pytest.raises(Gone):
        accounts.complete_reset(token, NEW + " again")


class _LostAnswer:
    """An SMTP server that takes the first message and answers 451, as if its answer was lost:
    the dispatcher must try again, and the first message's link must not work."""

    def __init__(self):
        self.messages, self.refused = [], 0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        if len(self.messages) == 1:
            self.refused += 1
            return "451 4.3.0 try again later"
        return "250 OK"


@pytest.fixture
def lossy_smtp(app):
    with smtp_server.serving(app, _LostAnswer()) as inbox:
        yield inbox


def test_a_retried_delivery_mints_a_new_token_and_the_older_stops_working(db, frozen, lossy_smtp):
    make_user(Role.OFFICER, email="zhou@example.cn")
    recovery.request_recovery("zhou@example.cn", PREFIX)
    assert dispatch_pending().retrying == 1
    frozen.advance(timedelta(minutes=2))  # past the first back-off
    assert dispatch_pending().sent == 1
    assert lossy_smtp.refused == 1
    first, second = _tokens(lossy_smtp)
    assert first != second
    # A new link is a new message: a mail system that dropped repeats by Message-ID would
    # otherwise keep the first copy, whose link no longer works.
    assert len({message["Message-ID"] for _, message in lossy_smtp.messages}) == 2
    with pytest.raises(NotFound):
        accounts.find_reset(first)
    accounts.complete_reset(second, NEW)


def test_an_unknown_address_gets_no_mail_and_leaves_nothing(db, smtp):
    make_user(Role.APPLICANT, username="no-address-here")  # no e-mail address to send to
    make_user(Role.APPLICANT, email="gone@example.cn", is_active=False)
    for login in ("nobody@example.cn", "no-address-here", "gone@example.cn", ""):
        recovery.request_recovery(login, PREFIX)
    dispatch_pending()
    assert smtp.messages == []
    assert _count(db, PasswordReset) == 0 and _count(db, Notification) == 0


def test_a_user_name_sends_to_the_accounts_address_once_a_quarter_hour(db, frozen, smtp):
    user = make_user(Role.SUPERVISOR, email="chen@example.cn")
    recovery.request_recovery(user.username, PREFIX)
    recovery.request_recovery(user.username.upper(), PREFIX)  # the same quarter hour: no second mail
    dispatch_pending()
    frozen.advance(timedelta(minutes=16))
    recovery.request_recovery("chen@example.cn", PREFIX)
    dispatch_pending()
    assert [rcpt for rcpt, _m in smtp.messages] == [["chen@example.cn"], ["chen@example.cn"]]
    first, second = _tokens(smtp)
    with pytest.raises(Gone):  # the newer link voided the older
        accounts.find_reset(first)
    accounts.find_reset(second)


def test_a_link_replaced_before_its_mail_went_out_sends_nothing(db, frozen, smtp):
    user = make_user(Role.OFFICER, email="wu@example.cn")
    recovery.request_recovery(user.username, PREFIX)
    frozen.advance(timedelta(minutes=16))
    recovery.request_recovery(user.username, PREFIX)  # voids the first link, whose mail still waits
    result = dispatch_pending()
    assert result.sent == 2 and len(smtp.messages) == 1  # the first had nothing left to say
    assert [n.status for n in _mails(db)] == [NotificationStatus.SENT, NotificationStatus.SENT]
    (token,) = _tokens(smtp)
    accounts.complete_reset(token, NEW)


def test_without_a_mail_service_recovery_is_refused(db):
    make_user(Role.APPLICANT, email="a@example.cn")
    with pytest.raises(Forbidden):
        recovery.request_recovery("a@example.cn", PREFIX)
    assert _count(db, PasswordReset) == 0


def test_an_admins_link_goes_by_mail_when_the_account_has_an_address(db, smtp):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.DEPARTMENT, email="dept.user@example.cn", locale="en")
    issued = recovery.issue_reset(admin, user.id, PREFIX)
    assert issued.by_mail and issued.token is None
    (notice,) = _mails(db)
    assert set(notice.payload) == {"reset", "account", "link_prefix", "minutes", "locale"}
    entry = db.session.scalars(select(AdminAudit).where(AdminAudit.action == "user.password_reset")).one()
    assert entry.actor_id == admin.id and entry.after["by_mail"] is True
    dispatch_pending()
    ((_rcpt, message),) = smtp.messages
    assert "Set a new password" in str(message["Subject"])  # in the account's language
    (token,) = _tokens(smtp)
    assert token not in json.dumps(entry.after)
    accounts.complete_reset(token, NEW)


def test_an_admins_link_for_an_account_without_an_address_is_shown_once(db, smtp):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.OFFICER)
    issued = recovery.issue_reset(admin, user.id, PREFIX)
    assert not issued.by_mail and issued.token
    assert _mails(db) == []
    reset = accounts.find_reset(issued.token)
    assert reset.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()


def _sessions(user) -> list[str]:
    return [accounts.start_session(user, strength="password", address="127.0.0.1", user_agent="t")
            for _ in range(2)]


def _open_sessions(db, user) -> list[UserSession]:
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                             UserSession.ended_at.is_(None))))


def test_setting_the_password_by_the_link_ends_every_session(db, smtp):
    user = make_user(Role.APPLICANT, email="he@example.cn")
    _sessions(user)
    recovery.request_recovery("he@example.cn", PREFIX)  # asking ends nothing: anyone may ask
    dispatch_pending()
    assert len(_open_sessions(db, user)) == 2
    (token,) = _tokens(smtp)
    accounts.complete_reset(token, NEW)
    assert _open_sessions(db, user) == []
    ended = db.session.scalars(select(UserSession.end_reason).where(UserSession.user_id == user.id)).all()
    assert ended == ["password_reset", "password_reset"]


def test_the_link_is_consumed_by_one_conditional_update(db, monkeypatch):
    """A second submission that read the link as open just before the first one used it fails,
    and the password stays the first one's."""
    admin, user = make_user(Role.ADMIN), make_user(Role.OFFICER)
    token = recovery.issue_reset(admin, user.id, PREFIX).token
    stale = accounts.find_reset(token)
    accounts.complete_reset(token, NEW)
    monkeypatch.setattr(password_reset, "find_reset", lambda _token: stale)  # read before the commit
    with pytest.raises(Gone):
        password_reset.complete_reset(token, "another quite long passphrase")
    db.session.refresh(user)
    assert accounts.check_password(user, NEW)


def test_a_refused_password_leaves_the_link_usable(db):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.APPLICANT, display_name="Zhang Jianguo")
    token = recovery.issue_reset(admin, user.id, PREFIX).token
    with pytest.raises(InvalidInput, match="姓名"):  # the account's own name, which no form holds
        accounts.complete_reset(token, "jianguo is my name ok")
    accounts.complete_reset(token, NEW)


def test_a_change_needs_the_current_password_and_ends_the_other_sessions(db):
    user = make_user(Role.OFFICER)
    _sessions(user)
    kept = _open_sessions(db, user)[0].id
    with pytest.raises(InvalidInput):
        accounts.change_password(user.id, "not the password", NEW, keep_session_id=kept)
    with pytest.raises(InvalidInput):
        accounts.change_password(user.id, "correct horse battery", "password1234", keep_session_id=kept)
    assert len(_open_sessions(db, user)) == 2
    accounts.change_password(user.id, "correct horse battery", NEW, keep_session_id=kept)
    assert [s.id for s in _open_sessions(db, user)] == [kept]
    db.session.refresh(user)
    assert accounts.check_password(user, NEW)


def test_an_open_link_is_voided_by_a_change(db):
    admin, user = make_user(Role.ADMIN), make_user(Role.OFFICER)
    token = recovery.issue_reset(admin, user.id, PREFIX).token
    accounts.change_password(user.id, "correct horse battery", NEW)
    with pytest.raises(Gone):
        accounts.find_reset(token)


def test_the_use_cases_that_set_a_password_refuse_weak_ones_whatever_the_form_checked(db):
    """The API, the CLI or a form without its validator cannot skip the rule."""
    admin = make_user(Role.ADMIN)
    with pytest.raises(InvalidInput, match="最常见"):
        accounts.create_user(admin, accounts.NewUser(username="weak.one", display_name="弱", email=None,
                                                     role="officer", password="password12"))
    with pytest.raises(InvalidInput, match="姓名"):  # the subject's name, which the account is made for
        subject = make_user(Role.APPLICANT).subject
        accounts.create_user(admin, accounts.NewUser(
            username="agent.x", display_name="x", email=None, role="applicant",
            password=f"{subject.name}的账户密码", subject_identifier=subject.identifier))
    with pytest.raises(InvalidInput, match="12"):
        signup.request_sign_up(signup.SignUpDetails(
            email="s@example.cn", password="1234567890", display_name="", identifier=validate(uscc(), "legal"),
            subject_name="某公司"), link_for=str, sign_in_link="/auth/sign-in")
