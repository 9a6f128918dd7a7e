"""Password links and changes: a single-use link that expires sets a new password; a signed-in
user changes its own with the current one.

A link's token has 256 random bits and only its SHA-256 is stored, like the API keys. Who asks
for one: the user on the sign-in page ("Forgot password?", ``created_by_id`` empty) or an admin.
A link that goes by e-mail is opened without a token (``open_reset(with_token=False)``) and the
token is minted when the mail is sent (``mint_token``, called by the dispatcher through
``app.services.recovery``), so the outbox never holds a usable one; a second delivery mints a
new token, and the first one's link no longer works. A link with no address to go to is shown
to the admin once instead. A new link voids the older unused ones.

Setting the password consumes the link by one conditional UPDATE (two submissions cannot both
succeed), voids the account's other open links and ends all of its sessions; a change ends all
sessions but the one it was made in.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app import clock
from app.errors import Gone, InvalidInput, NotFound
from app.extensions import db
from app.models import PasswordReset, User
from app.services.accounts.passwords import require_acceptable_password
from app.services.accounts.sessions import EndReason, account_usable, end_all_sessions
from app.services.accounts.signin import check_password, hash_password
from app.services.transaction import use_case

LIFETIME = timedelta(hours=24)  # a link shown to an admin to hand over; by mail: PASSWORD_RECOVERY_LIFETIME
_UNKNOWN = _l("This password link is not valid. Please ask for a new one.")
_GONE = _l("This password link has expired or was already used. Please ask for a new one.")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mailed_lifetime() -> timedelta:
    """How long a link sent by mail works, from its mail."""
    return current_app.config.get("PASSWORD_RECOVERY_LIFETIME", timedelta(hours=1))


def open_reset(user: User, actor: User | None, *, with_token: bool) -> tuple[PasswordReset, str | None]:
    """Step: a new link for the account (voiding its older open ones), with its token when
    ``with_token`` (to be shown once), or none yet (to be minted when its mail is sent)."""
    now = clock.now()
    _void_open(user.id, now)
    token = secrets.token_urlsafe(32) if with_token else None
    reset = PasswordReset(user_id=user.id, token_hash=_hash(token) if token else None,
                          created_by_id=actor.id if actor else None, created_at=now,
                          expires_at=now + (LIFETIME if with_token else mailed_lifetime()))
    db.session.add(reset)
    db.session.flush()
    return reset, token


def mint_token(reset_id: int) -> str | None:
    """Step, when the link's mail is sent: a fresh token for the reset, whose hash replaces any
    earlier one (the link of an earlier attempt stops working), valid for
    ``PASSWORD_RECOVERY_LIFETIME`` from now. None when the reset is used, voided, a day old, or its account cannot sign in."""
    reset = db.session.get(PasswordReset, reset_id)
    now = clock.now()
    if reset is None or reset.used_at or reset.voided_at or now - reset.created_at > LIFETIME:
        return None
    if not account_usable(db.session.get(User, reset.user_id)):
        return None
    token = secrets.token_urlsafe(32)
    minted = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None), PasswordReset.voided_at.is_(None))
        .values(token_hash=_hash(token), expires_at=now + mailed_lifetime())
    ).rowcount
    db.session.flush()
    return token if minted == 1 else None


def find_reset(token: str) -> PasswordReset:
    """The open reset for a token; 404 when unknown, 410 when used, voided or expired."""
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token or "")))
    if reset is None:
        raise NotFound(_UNKNOWN)
    if reset.used_at or reset.voided_at or reset.expires_at <= clock.now():
        raise Gone(_GONE)
    return reset


@use_case
def complete_reset(token: str, password: str) -> User:
    """Set the password through the link: the link is used up, and every session of the account ends."""
    reset = find_reset(token)
    user = db.session.get(User, reset.user_id)
    if not account_usable(user):
        raise Gone(_GONE)
    require_acceptable_password(password, user=user)  # a refused password leaves the link as it was
    now = clock.now()
    # Consume the link in one conditional UPDATE: of two submissions of it, one succeeds.
    claimed = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.token_hash == _hash(token),
               PasswordReset.used_at.is_(None), PasswordReset.voided_at.is_(None), PasswordReset.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        raise Gone(_GONE)
    user.password_hash = hash_password(password)
    _void_open(user.id, now)
    end_all_sessions(user.id, EndReason.PASSWORD_RESET)
    db.session.commit()
    return user


@use_case
def change_password(user_id: int, current: str, new: str, *, keep_session_id: int | None = None) -> User:
    """A signed-in user sets a new password with its current one; its other sessions end and
    any open link is voided (the session ``keep_session_id``, the one it was changed in, stays)."""
    user = db.session.get(User, user_id)
    if user is None or not check_password(user, current or ""):
        raise InvalidInput(_l("The current password is not right."))
    if new == current:
        raise InvalidInput(_l("Choose a password other than the current one."))
    require_acceptable_password(new, user=user)
    user.password_hash = hash_password(new)
    _void_open(user.id, clock.now())
    end_all_sessions(user.id, EndReason.PASSWORD_CHANGED, except_session_id=keep_session_id)
    db.session.commit()
    return user


def _void_open(user_id: int, now) -> None:
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None), PasswordReset.voided_at.is_(None))
        .values(voided_at=now)
    )
