"""Two factors for staff (issue 13): officers, supervisors, department users and admins confirm a
sign-in with a TOTP code (RFC 6238) or one of their recovery codes.

``TWO_FACTOR_REQUIRED_FOR_STAFF`` (on in production) makes it required: a staff member without an
authenticator is taken to enrolment before anything else. Once enrolled, the code is asked at
every sign-in, required or not. Between the first factor and the code only a challenge exists
(``TwoFactorChallenge``): nobody is signed in, the wait expires, and ``TWO_FACTOR_MAX_FAILURES``
wrong codes end it (the password is asked again, with its own throttle). A code is accepted once:
its time step must be later than the last one accepted (one conditional UPDATE, so two requests
with the same code cannot both pass). An admin's reset is audited with its reason and ends the
user's sessions.

Use cases (commit once, or raise and roll back): ``begin_second_factor``, ``prepare_enrolment``,
``confirm_enrolment``, ``confirm_pending_enrolment``, ``verify_second_factor``,
``renew_recovery_codes``, ``reset_two_factor``. Queries: ``two_factor_status``, ``pending_user``.
"""
from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from app import clock
from app.errors import Conflict, Gone, InvalidInput, NotFound, TooManyAttempts
from app.extensions import db
from app.models import RecoveryCode, TwoFactor, TwoFactorChallenge, User
from app.models.enums import Role
from app.models.two_factor import ChallengePurpose
from app.services.accounts import totp
from app.services.accounts.sessions import end_all_sessions
from app.services.audit import audit_admin_change
from app.services.transaction import use_case

log = logging.getLogger(__name__)

STAFF_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.DEPARTMENT, Role.ADMIN})


class Strength:
    """How a session was opened, as ``user_session.strength`` keeps it."""

    PASSWORD = "password"
    TOTP = "totp"  # password (or identity service) and an authenticator code
    RECOVERY = "recovery"  # password and a recovery code
    OIDC = "oidc"  # the identity service, one factor as far as its token says
    OIDC_MFA = "oidc_mfa"  # the identity service, whose token says several factors (amr)


STRONG = frozenset({Strength.TOTP, Strength.RECOVERY, Strength.OIDC_MFA})


def is_staff(user: User) -> bool:
    return user.role in STAFF_ROLES


def required() -> bool:
    return bool(current_app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"])


def _key() -> str:
    config = current_app.config
    return config.get("TWO_FACTOR_KEY") or config["SECRET_KEY"]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _factor(user_id: int) -> TwoFactor | None:
    return db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user_id))


def _wrong_code() -> InvalidInput:
    return InvalidInput(_l("This code is not right. Check that the time on your phone is correct, and type the code "
                           "your authenticator app shows now."))


# --- queries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TwoFactorStatus:
    user: User
    enabled_at: datetime | None
    recovery_codes_left: int

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None


def two_factor_status(user_id: int) -> TwoFactorStatus:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    factor = _factor(user_id)
    left = db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))
    return TwoFactorStatus(user, factor.enabled_at if factor else None, left or 0)


def _open_challenge(challenge_id: int, token: str, purpose: str) -> TwoFactorChallenge:
    """The challenge of the cookie's id and token, still open; ``Gone`` (sign in again) otherwise."""
    challenge = db.session.get(TwoFactorChallenge, challenge_id) if isinstance(challenge_id, int) else None
    if (challenge is None or challenge.purpose != purpose or not isinstance(token, str)
            or not secrets.compare_digest(challenge.token_hash, _hash(token))):
        raise Gone(_l("This sign-in has expired. Please sign in again."))
    if challenge.ended_at is not None or challenge.expires_at <= clock.now():
        raise Gone(_l("This sign-in has expired. Please sign in again."))
    return challenge


def pending_user(challenge_id: int, token: str, purpose: str) -> User:
    """The user whose sign-in waits for its second factor; ``Gone`` when it no longer does (its
    tries used up, too)."""
    challenge = _open_challenge(challenge_id, token, purpose)
    user = db.session.get(User, challenge.user_id)
    if user is None or not user.is_active or challenge.attempts >= current_app.config["TWO_FACTOR_MAX_FAILURES"]:
        raise Gone(_l("This sign-in has expired. Please sign in again."))
    return user


# --- the sign-in -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PendingSignIn:
    challenge_id: int
    token: str  # for the cookie, never stored
    purpose: str


@use_case
def begin_second_factor(user: User) -> PendingSignIn | None:
    """After the first factor: a challenge for the code (enrolled), for enrolment (staff, required,
    not enrolled), or None when no second factor is asked (then nothing is written)."""
    if not is_staff(user):
        return None
    factor = _factor(user.id)
    if factor is not None and factor.enabled_at is not None:
        purpose, minutes = ChallengePurpose.CODE, current_app.config["TWO_FACTOR_CODE_MINUTES"]
    elif required():
        purpose, minutes = ChallengePurpose.ENROL, current_app.config["TWO_FACTOR_ENROL_MINUTES"]
    else:
        return None
    now = clock.now()
    wait = _code_backoff(user.id, now) if purpose == ChallengePurpose.CODE else None
    if wait is not None:
        log.warning("two-factor: user %s must wait %ss after rounds of wrong codes", user.id, wait)
        raise TooManyAttempts(_l("Too many wrong codes were typed for this account. Please try again in %(minutes)d "
                                 "minutes; if it was not you, change your password.",
                                 minutes=math.ceil(wait / 60)), retry_after=wait)
    _end_open_challenges(user.id, now)  # one sign-in waits at a time: its five tries are all there are
    token = secrets.token_urlsafe(32)
    challenge = TwoFactorChallenge(user_id=user.id, token_hash=_hash(token), purpose=purpose, created_at=now,
                                   expires_at=now + timedelta(minutes=minutes))
    db.session.add(challenge)
    db.session.flush()
    db.session.commit()
    return PendingSignIn(challenge.id, token, purpose)


def _code_backoff(user_id: int, now: datetime) -> int | None:
    """Seconds to wait before a new sign-in may try codes, or None. Each sign-in whose tries were
    all wrong since the last success (within a day) doubles the wait after it, from
    ``TWO_FACTOR_BACKOFF_BASE_SECONDS`` to at most ``..._CAP_SECONDS``: someone who has the
    password cannot try codes without end by signing in again (and the owner is not locked out)."""
    config = current_app.config
    since = now - timedelta(days=1)
    last_success = db.session.scalar(select(func.max(TwoFactorChallenge.signed_in_at)).where(
        TwoFactorChallenge.user_id == user_id, TwoFactorChallenge.signed_in_at >= since))
    wrong, latest = db.session.execute(
        select(func.coalesce(func.sum(TwoFactorChallenge.attempts), 0), func.max(TwoFactorChallenge.created_at))
        .where(TwoFactorChallenge.user_id == user_id, TwoFactorChallenge.purpose == ChallengePurpose.CODE,
               TwoFactorChallenge.signed_in_at.is_(None), TwoFactorChallenge.created_at > (last_success or since))
    ).one()
    rounds = wrong // config["TWO_FACTOR_MAX_FAILURES"]
    if rounds == 0:
        return None
    delay = min(config["TWO_FACTOR_BACKOFF_CAP_SECONDS"], config["TWO_FACTOR_BACKOFF_BASE_SECONDS"] * 2 ** (rounds - 1))
    wait = math.ceil((latest + timedelta(seconds=delay) - now).total_seconds())
    return wait if wait > 0 else None


def _end_open_challenges(user_id: int, now: datetime) -> None:
    db.session.execute(update(TwoFactorChallenge).where(
        TwoFactorChallenge.user_id == user_id, TwoFactorChallenge.ended_at.is_(None)).values(ended_at=now))


@dataclass(frozen=True)
class Verified:
    user: User
    strength: str
    recovery_codes_left: int | None  # after a recovery code: how many are left


@use_case
def verify_second_factor(challenge_id: int, token: str, code: str) -> Verified:
    """The code for a pending sign-in: the authenticator's (a time step not used before) or an
    unused recovery code. Each try is counted before the code is looked at, by one conditional
    UPDATE, so that even tries sent at once get ``TWO_FACTOR_MAX_FAILURES`` looks in all; after
    the last wrong one the sign-in is over (``TooManyAttempts``). A right code ends it, signed in."""
    challenge = _open_challenge(challenge_id, token, ChallengePurpose.CODE)
    user = db.session.get(User, challenge.user_id)
    factor = _factor(challenge.user_id)
    if user is None or not user.is_active or factor is None or factor.enabled_at is None:
        raise Gone(_l("This sign-in has expired. Please sign in again."))
    limit = current_app.config["TWO_FACTOR_MAX_FAILURES"]
    counted = db.session.execute(update(TwoFactorChallenge).where(
        TwoFactorChallenge.id == challenge.id, TwoFactorChallenge.ended_at.is_(None),
        TwoFactorChallenge.attempts < limit).values(attempts=TwoFactorChallenge.attempts + 1)).rowcount
    if counted != 1:
        raise _too_many()
    typed = totp.normalise(code)
    now = clock.now()
    if totp.looks_like_code(typed):
        accepted, strength = _accept_time_step(factor, typed, now), Strength.TOTP
    else:
        accepted, strength = _use_recovery_code(user.id, typed, now), Strength.RECOVERY
    if accepted is True:
        challenge.ended_at = challenge.signed_in_at = now
        left = two_factor_status(user.id).recovery_codes_left if strength == Strength.RECOVERY else None
        if left is not None:
            log.warning("two-factor: user %s signed in with a recovery code (%s left)", user.id, left)
        db.session.commit()
        return Verified(user, strength, left)
    db.session.commit()  # the try stays counted
    db.session.refresh(challenge)
    if challenge.attempts >= limit:
        log.warning("two-factor: a sign-in of user %s ended after %s wrong codes", user.id, limit)
        raise _too_many()
    if accepted == "replayed":
        problem = _l("This code has been used already. Wait for the next code of your authenticator app and type "
                     "that one.")
    elif strength == Strength.RECOVERY:
        problem = _l("This recovery code is not right, or it has been used already.")
    else:
        problem = _wrong_code().message
    raise InvalidInput(_l("%(problem)s %(left)d attempts left.", problem=problem, left=limit - challenge.attempts))


def _too_many() -> TooManyAttempts:
    return TooManyAttempts(_l("Too many wrong codes. Please sign in again with your password."))


def _accept_time_step(factor: TwoFactor, code: str, now: datetime) -> bool | str:
    """True when ``code`` is the authenticator's for a step later than the last one accepted
    (which it becomes); "replayed" for a right code of a step already used; False otherwise."""
    secret = totp.unseal(factor.secret, _key())
    step = totp.matching_step(secret, code, now) if secret else None
    if step is None:
        return False
    claimed = db.session.execute(update(TwoFactor).where(
        TwoFactor.id == factor.id,
        (TwoFactor.last_time_step.is_(None)) | (TwoFactor.last_time_step < step)).values(last_time_step=step)).rowcount
    return True if claimed == 1 else "replayed"


def _use_recovery_code(user_id: int, code: str, now: datetime) -> bool:
    """True when ``code`` is one of the user's unused recovery codes, which is used up by it (one
    conditional UPDATE: of two requests with the same code, one passes)."""
    if not code:
        return False
    rows = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id))  # ten at most
    found = [row for row in rows if totp.recovery_matches(code, row.salt, row.code_hash)]
    if not found:
        return False
    claimed = db.session.execute(update(RecoveryCode).where(
        RecoveryCode.id == found[0].id, RecoveryCode.used_at.is_(None)).values(used_at=now)).rowcount
    return claimed == 1


# --- enrolment -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, shown as text beside the QR code
    uri: str  # otpauth://totp/..., what the QR code holds


@use_case
def prepare_enrolment(user_id: int) -> Enrolment:
    """The secret to enrol (a new one, or the one shown before and not yet confirmed)."""
    user = db.session.get(User, user_id)
    if user is None or not is_staff(user):
        raise NotFound()
    factor = _factor(user_id)
    if factor is not None and factor.enabled_at is not None:
        raise Conflict(_l("Two-step sign-in is already set up for this account."))
    secret = totp.unseal(factor.secret, _key()) if factor is not None else None
    if secret is None:
        secret = totp.new_secret()
        if factor is None:
            factor = TwoFactor(user_id=user_id, secret="")
            db.session.add(factor)
        factor.secret, factor.created_at = totp.seal(secret, _key()), clock.now()
        db.session.commit()
    return Enrolment(secret, totp.provisioning_uri(secret, user.username, current_app.config["TWO_FACTOR_ISSUER"]))


def _confirm(user_id: int, code: str) -> list[str]:
    """Enable the enrolment with its first code; the recovery codes, in clear this once."""
    factor = _factor(user_id)
    if factor is None or factor.enabled_at is not None:
        raise Conflict(_l("This set-up is no longer open. Please start it again."))
    now = clock.now()
    secret = totp.unseal(factor.secret, _key())
    step = totp.matching_step(secret, totp.normalise(code), now) if secret else None
    if step is None:
        raise _wrong_code()
    factor.enabled_at, factor.last_time_step = now, step
    log.info("two-factor: user %s enrolled an authenticator", user_id)
    return _new_recovery_codes(user_id, now)


def _new_recovery_codes(user_id: int, now: datetime) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [totp.new_recovery_code() for _ in range(totp.RECOVERY_CODES)]
    for code in codes:
        salt = totp.new_salt()
        db.session.add(RecoveryCode(user_id=user_id, salt=salt, code_hash=totp.recovery_hash(code, salt),
                                    created_at=now))
    db.session.flush()
    return codes


@use_case
def confirm_enrolment(user_id: int, code: str) -> list[str]:
    """A signed-in staff member confirms the enrolment it started; its recovery codes."""
    codes = _confirm(user_id, code)
    db.session.commit()
    return codes


@use_case
def confirm_pending_enrolment(challenge_id: int, token: str, code: str) -> tuple[User, list[str]]:
    """The enrolment a required second factor asked for at sign-in, confirmed: the user to sign
    in and its recovery codes. The challenge ends."""
    user = pending_user(challenge_id, token, ChallengePurpose.ENROL)
    codes = _confirm(user.id, code)
    _end_open_challenges(user.id, clock.now())
    db.session.commit()
    return user, codes


@use_case
def renew_recovery_codes(user_id: int, code: str) -> list[str]:
    """Ten new recovery codes (the old ones stop working), for a current authenticator code."""
    factor = _factor(user_id)
    if factor is None or factor.enabled_at is None:
        raise Conflict(_l("Set up two-step sign-in first."))
    typed = totp.normalise(code)
    accepted = _accept_time_step(factor, typed, clock.now()) if totp.looks_like_code(typed) else False
    if accepted is not True:
        raise _wrong_code()
    codes = _new_recovery_codes(user_id, clock.now())
    db.session.commit()
    return codes


# --- the admin's reset -----------------------------------------------------------------------

@use_case
def reset_two_factor(actor: User | None, user_id: int, reason: str) -> User:
    """Remove a user's authenticator and recovery codes (a lost phone): it enrols again at its
    next sign-in. Audited with the reason; the user's sessions and pending sign-ins end. Without
    an actor, the operator did it from the command line (``flask users reset-two-factor``: the
    sole admin who lost both phone and codes), audited as the system."""
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= 500:
        raise InvalidInput(_l("Give the reason for the reset (5 to 500 characters)."))
    status = two_factor_status(user_id)
    factor = _factor(user_id)
    if factor is None and status.recovery_codes_left == 0:
        raise Conflict(_l("This account has no second factor to reset."))
    now = clock.now()
    before = {"enabled_at": status.enabled_at.isoformat() if status.enabled_at else None,
              "recovery_codes_left": status.recovery_codes_left}
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    db.session.execute(delete(TwoFactor).where(TwoFactor.user_id == user_id))
    _end_open_challenges(user_id, now)
    ended = end_all_sessions(user_id, "two_factor_reset")
    audit_admin_change(actor, "user.two_factor_reset", "user", user_id, before,
                       {"enabled_at": None, "reason": reason, "sessions_ended": ended})
    db.session.commit()
    log.warning("two-factor: %s reset the second factor of user %s",
                f"admin {actor.id}" if actor is not None else "the command line", user_id)
    return status.user
