"""Accounts: sign-in with a back-off per account, password hashing (argon2id).

Sign-up is ``app.services.signup``: by e-mail, confirmed by a link, so that the form tells nothing.
"""
from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.errors import InvalidInput, TooManyAttempts
from app.extensions import db
from app.models import SignInAttempt, User
from app.services.accounts.sessions import account_usable
from app.services.transaction import use_case

_hasher = PasswordHasher()
# Verified against when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_active_user(user_id: str | int) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if account_usable(user) else None


def get_user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip().lower()))


@use_case
def authenticate(username: str, password: str, address: str, device: str | None = None) -> User:
    """Return the user if the name and password match, counting every attempt it checks.

    The error never says which of the two was wrong. Failures slow the next attempt for that
    name down (``_refuse_while_backing_off``) instead of locking it: once the wait is over the
    right password works, whoever kept guessing meanwhile. ``device`` is the browser's device
    id for this name (its cookie), if it has one: then only that device's failures count.
    """
    name = (username or "").strip().lower()[:254]  # a user name or (since issue 12) an e-mail address
    address = (address or "unknown")[:45]
    device_hash = hashlib.sha256(device.encode()).hexdigest() if device else None
    _refuse_while_backing_off(name, device_hash)

    user = get_user_by_username(name)
    if user is None:
        _hasher.verify(_DUMMY_HASH, "not a real password")
        ok = False
    else:
        ok = check_password(user, password) and account_usable(user)
    db.session.add(SignInAttempt(username=name, address=address, device=device_hash, succeeded=ok))
    if ok:
        user.last_sign_in_at = clock.now()
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    db.session.commit()
    if not ok:
        raise InvalidInput(_l("The user name or password is wrong."))
    return user


def backoff_delay(failures: int) -> float:
    """Seconds the next attempt waits after ``failures`` failures in a row: none for the first
    ``SIGNIN_BACKOFF_FREE_FAILURES``, then BASE, 2*BASE, 4*BASE ... at most CAP."""
    config = current_app.config
    free, base, cap = (config["SIGNIN_BACKOFF_FREE_FAILURES"], config["SIGNIN_BACKOFF_BASE_SECONDS"],
                       config["SIGNIN_BACKOFF_CAP_SECONDS"])
    if failures < max(free, 1):
        return 0
    return min(cap, base * 2 ** min(failures - free, 32))


def _refuse_while_backing_off(name: str, device_hash: str | None) -> None:
    """Refuse (429, not counted) an attempt made before the back-off after the last failure is over.

    Failures count per name, since the last success of the same kind, within
    ``SIGNIN_BACKOFF_WINDOW``: attempts without a device cookie together (a guesser anywhere
    gets one try per wait), and a device's own apart. An attempt refused here is not recorded,
    so trying faster does not lengthen the wait: the real user waits at most the cap. One query.
    """
    now = clock.now()
    since = now - current_app.config["SIGNIN_BACKOFF_WINDOW"]
    same_kind = SignInAttempt.device == device_hash if device_hash else SignInAttempt.device.is_(None)
    ours = (SignInAttempt.username == name, SignInAttempt.at >= since, same_kind)
    last_success = select(func.max(SignInAttempt.id)).where(*ours, SignInAttempt.succeeded.is_(True)).scalar_subquery()
    failures, last_failure = db.session.execute(
        select(func.count(), func.max(SignInAttempt.at))
        .where(*ours, SignInAttempt.succeeded.is_(False), SignInAttempt.id > func.coalesce(last_success, 0))
    ).one()
    delay = backoff_delay(failures)
    if not delay:
        return
    wait = (last_failure + timedelta(seconds=delay) - now).total_seconds()
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyAttempts(
            _l("Too many failed sign-in attempts for this account. Please wait %(seconds)d seconds and try again.",
               seconds=seconds),
            retry_after=seconds,
        )
