"""Password resets: an admin issues a single-use link that expires; the user sets a new password.

The token has 256 random bits and only its SHA-256 is stored, like the API keys. The link is
shown once to the admin, who hands it over on a trusted channel; it is never written to the
outbox, where anyone reading the database could use it. A new link voids the older unused ones;
setting the password voids them all and clears the sign-in throttle's past failures' effect
by being a fresh secret (the throttle itself still counts attempts by time).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app import clock
from app.errors import Gone, InvalidInput, NotFound
from app.extensions import db
from app.models import PasswordReset, User
from app.services.accounts.signin import hash_password
from app.services.audit import audit_admin_change
from app.services.transaction import use_case

LIFETIME = timedelta(hours=24)
MIN_LENGTH = 10


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedReset:
    user: User
    token: str  # shown to the admin once, never stored
    expires_at: datetime


@use_case
def issue_reset(actor: User, user_id: int) -> IssuedReset:
    """A new link for the account, with the token to put in it."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    if not user.is_active:
        raise InvalidInput(_l("Reactivate the account before resetting its password."))
    now = clock.now()
    _void_open(user.id, now)
    token = secrets.token_urlsafe(32)
    reset = PasswordReset(user_id=user.id, token_hash=_hash(token), created_by_id=actor.id,
                          created_at=now, expires_at=now + LIFETIME)
    db.session.add(reset)
    db.session.flush()
    audit_admin_change(actor, "user.password_reset", "user", user.id, None,
                       {"reset_id": reset.id, "expires_at": reset.expires_at.isoformat()})
    db.session.commit()
    return IssuedReset(user, token, reset.expires_at)


def find_reset(token: str) -> PasswordReset:
    """The open reset for a token; 404 when unknown, 410 when used, voided or expired."""
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token or "")))
    if reset is None:
        raise NotFound(_l("This password link is not valid. Ask an administrator for a new one."))
    if reset.used_at or reset.voided_at or reset.expires_at <= clock.now():
        raise Gone(_l("This password link has expired or was already used. Ask an administrator for a new one."))
    return reset


@use_case
def complete_reset(token: str, password: str) -> User:
    reset = find_reset(token)
    if len(password) < MIN_LENGTH:
        raise InvalidInput(_l("Use at least 10 characters."))
    user = db.session.get(User, reset.user_id)
    if user is None or not user.is_active:
        raise Gone(_l("This password link has expired or was already used. Ask an administrator for a new one."))
    now = clock.now()
    # Claim the row so that two submissions of the same link cannot both succeed.
    claimed = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None), PasswordReset.voided_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise Gone(_l("This password link has expired or was already used. Ask an administrator for a new one."))
    user.password_hash = hash_password(password)
    _void_open(user.id, now)
    db.session.commit()
    return user


def _void_open(user_id: int, now) -> None:
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None), PasswordReset.voided_at.is_(None))
        .values(voided_at=now)
    )
