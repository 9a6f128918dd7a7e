"""Password links by e-mail: asked for on the sign-in page, or issued by an admin.

"Forgot password?" answers the same whoever asks, like sign-up (issue 12): what happens is told
only to the account's address. An account with that user name or address that can sign in and
has an address gets a mail with a link, at most one each ``MAIL_EVERY`` (so the form cannot
flood a mailbox); nothing else happens for any other entry.

The outbox row of such a mail holds the link's id, never its token (issue 13): the token is
minted by ``_link_as_sent``, which the dispatcher calls as it sends the mail (registered in
``SEND_TIME_FIELDS``), and only its hash is stored. A retried delivery mints a new token and the
earlier one stops working; a link used or replaced before its mail went out sends nothing. The
outbox row keeps the address of the page the token is appended to (``link_prefix``: the site's
``PUBLIC_BASE_URL`` when set, never a client's Host header then).

An admin's link goes the same way when the account has an address and mail is configured; for
an account without one, the link (with its token) is shown to the admin once, to hand over.
Either way the account's sessions end when the admin issues it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app import clock
from app.errors import Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Notification, PasswordReset, User
from app.services.accounts.password_reset import mailed_lifetime, mint_token, open_reset
from app.services.accounts.sessions import EndReason, account_usable, end_all_sessions
from app.services.audit import audit_admin_change
from app.services.notices.delivery import SEND_TIME_FIELDS
from app.services.notices.outbox import enqueue_email, smtp_configured
from app.services.transaction import use_case

TEMPLATE = "password_reset_link"
MAIL_EVERY = timedelta(minutes=15)
MAX_ACCOUNTS = 5  # older accounts may share an address; a mail each, a few at most


@dataclass(frozen=True)
class IssuedReset:
    user: User
    token: str | None  # to show the admin once; None when the link went by mail
    expires_at: datetime
    by_mail: bool


def recovery_available() -> bool:
    """Recovery needs a mail service: the link goes to the account's address, nowhere else."""
    return smtp_configured()


def _payload(reset: PasswordReset, user: User, link_prefix: str, locale: str | None) -> dict:
    return {"reset": reset.id, "account": user.username, "link_prefix": link_prefix,
            "minutes": int(mailed_lifetime().total_seconds() // 60),
            "locale": "en" if (locale or "").startswith("en") else "zh_CN"}


@use_case
def request_recovery(login: str, link_prefix: str, locale: str | None = None) -> None:
    """The "Forgot password?" form, with a user name or an address; the caller answers the same
    whatever this finds. ``link_prefix`` is the link page's address without the token."""
    if not recovery_available():
        raise Forbidden(_l("Password recovery by e-mail is not available here."))
    wanted = (login or "").strip().lower()[:254]
    if not wanted:
        return
    users = db.session.scalars(
        select(User).where(or_(User.username == wanted, func.lower(User.email) == wanted))
        .order_by(User.id).limit(MAX_ACCOUNTS))
    slot = int(clock.now().timestamp() // MAIL_EVERY.total_seconds())
    for user in users:
        if not user.email or not account_usable(user):
            continue
        key = f"password-reset:{user.id}:{slot}"
        if db.session.scalar(select(Notification.id).where(Notification.key == key)) is not None:
            continue  # mailed a moment ago: that link still works
        reset, _none = open_reset(user, None, with_token=False)
        enqueue_email(key, TEMPLATE, _payload(reset, user, link_prefix, locale), user.email)
    db.session.commit()


@use_case
def issue_reset(actor: User, user_id: int, link_prefix: str) -> IssuedReset:
    """An admin's link for the account: by mail to its address, or shown once when it has none.
    The account's sessions end at once: an admin resets a password when it may be known to others."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    if not user.is_active:
        raise InvalidInput(_l("Reactivate the account before resetting its password."))
    by_mail = bool(user.email) and smtp_configured()
    reset, token = open_reset(user, actor, with_token=not by_mail)
    if by_mail:
        enqueue_email(f"password-reset:admin:{reset.id}", TEMPLATE,
                      _payload(reset, user, link_prefix, user.locale), user.email)
    ended = end_all_sessions(user.id, EndReason.PASSWORD_RESET)
    audit_admin_change(actor, "user.password_reset", "user", user.id, None,
                       {"reset_id": reset.id, "expires_at": reset.expires_at.isoformat(), "by_mail": by_mail,
                        "sessions_ended": ended})
    db.session.commit()
    return IssuedReset(user, token, reset.expires_at, by_mail)


def _link_as_sent(notice: Notification) -> dict | None:
    """The dispatcher's maker for this template: the link with a token minted now (its hash
    stored in the dispatcher's transaction), or None when the link can no longer be used."""
    reset_id = notice.payload.get("reset")
    token = mint_token(int(reset_id)) if isinstance(reset_id, int) else None
    if token is None:
        return None
    return {"link": f"{notice.payload.get('link_prefix', '')}{token}"}


SEND_TIME_FIELDS[TEMPLATE] = _link_as_sent
