"""Signed-in sessions on the server (issue 13): started at sign-in, checked on every request,
ended by signing out, by their lifetimes, or by a change to the account.

The cookie holds a random id (256 bits); only its SHA-256 is stored, like the API keys. A
session is live while it is not ended, has seen a request within ``SESSION_IDLE_TIMEOUT`` and
is younger than its ``expires_at`` (the absolute lifetime at sign-in). ``last_seen_at`` is
written at most once a minute, so a request costs one SELECT and rarely an UPDATE; the idle
timeout is therefore exact to within that minute.

``end_all_sessions`` is the step every change calls that must sign a user out everywhere: a
new password, a reset, a deactivation (of the account or its department), a role change, an
ended binding. It flushes in the caller's transaction, so the change and the sign-out commit
together.
"""
from __future__ import annotations

import functools
import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import contains_eager

from app import clock
from app.errors import NotFound
from app.extensions import db
from app.models import User, UserSession
from app.services.audit import audit_admin_change
from app.services.transaction import use_case

TOUCH_EVERY = timedelta(minutes=1)


class EndReason:
    """Why a session ended, as kept in ``user_session.end_reason``."""

    SIGNED_OUT = "signed_out"
    REPLACED = "replaced"  # another sign-in in the same browser
    IDLE = "idle"
    EXPIRED = "expired"
    ACCOUNT_UNUSABLE = "account_unusable"  # deactivated (itself or its department) meanwhile
    ENDED_BY_USER = "ended_by_user"
    ENDED_BY_ADMIN = "ended_by_admin"
    DEACTIVATED = "deactivated"
    DEPARTMENT_DEACTIVATED = "department_deactivated"
    ROLE_CHANGED = "role_changed"
    BINDING_ENDED = "binding_ended"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def coarse_address(address: str | None) -> str:
    """The network of an address, not the address: an IPv4 /24, an IPv6 /48."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def account_usable(user: User | None) -> bool:
    """An active account whose department (if any) is active too."""
    if user is None or not user.is_active:
        return False
    return user.department_id is None or (user.department is not None and user.department.is_active)


def _idle_timeout() -> timedelta:
    return current_app.config["SESSION_IDLE_TIMEOUT"]


def _live(now: datetime):
    """The conditions of a live session at ``now``."""
    return (UserSession.ended_at.is_(None), UserSession.expires_at > now,
            UserSession.last_seen_at > now - _idle_timeout())


@use_case
def start_session(user: User, *, strength: str, address: str | None, user_agent: str | None) -> str:
    """A new session for ``user``; returns the id for the cookie (never stored)."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(
        user_id=user.id, token_hash=_hash(token), strength=strength[:12], created_at=now, last_seen_at=now,
        expires_at=now + current_app.config["SESSION_ABSOLUTE_LIFETIME"], address=coarse_address(address),
        user_agent=(user_agent or "")[:200]))
    db.session.commit()
    return token


class LiveSession(NamedTuple):
    """A signed-in request's session, as ``resume_session`` found it live: its id, its strength
    ("password", "totp", "oidc") and its account (with the department loaded)."""

    id: int
    strength: str
    user: User


@functools.cache
def _resume_statement():
    """``resume_session``'s SELECT, built once per process: it runs on every signed-in request,
    and SQLAlchemy keeps a statement's cache key on the statement object, so the same object
    skips both building the query and walking it again for its key. The account and department
    are loaded as objects (the request's ``current_user``); of the session, only the columns
    the check reads (issue 16)."""
    return (select(User, UserSession.id, UserSession.user_id, UserSession.strength, UserSession.ended_at,
                   UserSession.expires_at, UserSession.last_seen_at)
            .select_from(UserSession).join(UserSession.user).outerjoin(User.department)
            .options(contains_eager(User.department))
            .where(UserSession.token_hash == bindparam("token_hash")))


@use_case
def resume_session(token: str | None, user_id: str | int | None) -> LiveSession | None:
    """The live session for the cookie's id and user, with its user loaded; None otherwise.

    One SELECT (session, account and department together). A session found past its lifetime,
    or whose account can no longer be used, is ended on the way; a live one has its
    ``last_seen_at`` moved on when it is a minute old. Either write commits at once, in its own
    small transaction (before the request's own work, as the API key's ``last_used_at``)."""
    if not token:
        return None
    row = db.session.execute(_resume_statement(), {"token_hash": _hash(token)}).first()
    if row is None or row.ended_at is not None or str(row.user_id) != str(user_id):
        return None
    user = row.User
    now = clock.now()
    reason = None
    if now >= row.expires_at:
        reason = EndReason.EXPIRED
    elif now - row.last_seen_at >= _idle_timeout():
        reason = EndReason.IDLE
    elif not account_usable(user):
        reason = EndReason.ACCOUNT_UNUSABLE
    if reason is not None:
        db.session.execute(update(UserSession).where(UserSession.id == row.id).values(ended_at=now, end_reason=reason))
        db.session.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
        db.session.commit()
    return LiveSession(row.id, row.strength, user)


@use_case
def end_session(token: str | None, reason: str = EndReason.SIGNED_OUT) -> None:
    """End the session with this cookie id (signing out); an ended or unknown one stays as it is."""
    if not token:
        return
    db.session.execute(update(UserSession).where(UserSession.token_hash == _hash(token),
                                                 UserSession.ended_at.is_(None))
                       .values(ended_at=clock.now(), end_reason=reason))
    db.session.commit()


def end_all_sessions(user_id: int, reason: str, *, except_session_id: int | None = None) -> int:
    """A step: end every session of the user still open (but ``except_session_id``); how many."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if except_session_id is not None:
        stmt = stmt.where(UserSession.id != except_session_id)
    count = db.session.execute(stmt.values(ended_at=clock.now(), end_reason=reason[:40])).rowcount
    db.session.flush()
    return count


def end_department_sessions(department_id: int, reason: str = EndReason.DEPARTMENT_DEACTIVATED) -> int:
    """A step: end the sessions of every account of the department; how many."""
    members = select(User.id).where(User.department_id == department_id).scalar_subquery()
    count = db.session.execute(
        update(UserSession).where(UserSession.user_id.in_(members), UserSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=reason[:40])
    ).rowcount
    db.session.flush()
    return count


def list_live_sessions(user_id: int) -> list[UserSession]:
    """The user's live sessions, the most recently seen first."""
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id, *_live(clock.now()))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def count_live_sessions(user_ids: list[int]) -> dict[int, int]:
    """How many live sessions each of these users has (absent: none), in one query."""
    if not user_ids:
        return {}
    return dict(db.session.execute(
        select(UserSession.user_id, func.count()).where(UserSession.user_id.in_(user_ids), *_live(clock.now()))
        .group_by(UserSession.user_id)).all())


@use_case
def end_own_session(user: User, session_id: int) -> None:
    """The user ends one of its own sessions (another browser, a lost phone)."""
    ended = db.session.execute(
        update(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id,
                                  UserSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=EndReason.ENDED_BY_USER)).rowcount
    if ended != 1:
        raise NotFound()
    db.session.commit()


@use_case
def end_own_sessions(user: User, *, except_session_id: int | None = None) -> int:
    """"Sign out everywhere": the user ends all its sessions (but the one it keeps); how many."""
    count = end_all_sessions(user.id, EndReason.ENDED_BY_USER, except_session_id=except_session_id)
    db.session.commit()
    return count


@use_case
def admin_end_sessions(actor: User, user_id: int) -> int:
    """An admin signs a user out everywhere (audited, with how many sessions it ended)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    count = end_all_sessions(user.id, EndReason.ENDED_BY_ADMIN)
    audit_admin_change(actor, "user.sessions_end", "user", user.id, None, {"sessions_ended": count})
    db.session.commit()
    return count

