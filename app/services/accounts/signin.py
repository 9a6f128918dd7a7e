"""Accounts: sign-in with throttling, password hashing (argon2id).

Sign-up is ``app.services.signup``: by e-mail, confirmed by a link, so that the form tells nothing.
"""
from __future__ import annotations

import math

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.errors import InvalidInput, TooManyAttempts
from app.extensions import db
from app.models import SignInAttempt, User
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
    return user if user is not None and user.is_active else None


def get_user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip().lower()))


@use_case
def authenticate(username: str, password: str, address: str) -> User:
    """Return the user if the name and password match, counting every attempt.

    The error never says which of the two was wrong. Too many failures for one name, or from
    one address, within the window lock further attempts until the window has passed.
    """
    name = (username or "").strip().lower()[:254]  # a user name or (since issue 12) an e-mail address
    address = (address or "unknown")[:45]
    _refuse_if_throttled(name, address)

    user = get_user_by_username(name)
    if user is None:
        _hasher.verify(_DUMMY_HASH, "not a real password")
        ok = False
    else:
        ok = check_password(user, password) and user.is_active
    db.session.add(SignInAttempt(username=name, address=address, succeeded=ok))
    if ok:
        user.last_sign_in_at = clock.now()
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    db.session.commit()
    if not ok:
        raise InvalidInput(_l("The user name or password is wrong."))
    return user


def _refuse_if_throttled(name: str, address: str) -> None:
    config = current_app.config
    window = config["SIGNIN_WINDOW"]
    since = clock.now() - window
    failures = select(func.count(), func.min(SignInAttempt.at)).where(
        SignInAttempt.at >= since, SignInAttempt.succeeded.is_(False)
    )
    by_name = db.session.execute(failures.where(SignInAttempt.username == name)).one()
    by_address = db.session.execute(failures.where(SignInAttempt.address == address)).one()
    for (count, oldest), limit in (
        (by_name, config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]),
        (by_address, config["SIGNIN_MAX_FAILURES_PER_ADDRESS"]),
    ):
        if count >= limit:
            wait = max(1, math.ceil((oldest + window - clock.now()).total_seconds() / 60))
            raise TooManyAttempts(
                _l("Too many failed sign-in attempts. Please try again in %(minutes)d minutes.", minutes=wait)
            )
