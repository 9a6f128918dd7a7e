"""What the daily purge deletes of the accounts' own tables (issue 13, item 7): steps, called
by the purge job (``admin.jobs.purge_job``) in its transaction; each one set-based DELETE.

A session ended or expired, a sign-in attempt, a pending second-factor sign-in are needed for a
while (to show "where am I signed in", to slow guessing down), then they are only a coarse
address, a user agent and a name typed at the sign-in form, kept for nothing. How long is
configured: ``SESSION_RECORD_RETENTION``, ``SIGN_IN_ATTEMPT_RETENTION`` (never shorter than the
back-off window ``SIGNIN_BACKOFF_WINDOW``, which counts the failures from these rows).
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_

from app import clock
from app.extensions import db
from app.models import RecoveryCode, SignInAttempt, TwoFactor, TwoFactorChallenge, UserSession

# The second factor's back-off (``two_factor._code_backoff``) reads a day of challenges.
CHALLENGE_BACKOFF_WINDOW = timedelta(days=1)


def delete_old_sessions() -> int:
    """Delete the sessions ended, or past their absolute lifetime, more than
    ``SESSION_RECORD_RETENTION`` ago; how many. A live session is never older than its lifetime."""
    cutoff = clock.now() - current_app.config["SESSION_RECORD_RETENTION"]
    return db.session.execute(
        delete(UserSession).where(or_(UserSession.ended_at < cutoff, UserSession.expires_at < cutoff))
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_old_challenges() -> int:
    """Delete the pending second-factor sign-ins that expired more than the session records'
    retention ago (at least the day the code back-off reads); how many."""
    keep = max(current_app.config["SESSION_RECORD_RETENTION"], CHALLENGE_BACKOFF_WINDOW)
    return db.session.execute(
        delete(TwoFactorChallenge).where(TwoFactorChallenge.expires_at < clock.now() - keep)
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_old_sign_in_attempts() -> int:
    """Delete the sign-in attempts older than ``SIGN_IN_ATTEMPT_RETENTION``, but never one the
    back-off still counts (``SIGNIN_BACKOFF_WINDOW``); how many."""
    config = current_app.config
    keep = max(config["SIGN_IN_ATTEMPT_RETENTION"], config["SIGNIN_BACKOFF_WINDOW"])
    return db.session.execute(
        delete(SignInAttempt).where(SignInAttempt.at < clock.now() - keep)
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_two_factor(user_ids: list[int]) -> None:
    """Delete the accounts' second factors: the secrets, recovery codes and pending sign-ins
    (an erased account, ``records.erasure``)."""
    for model in (RecoveryCode, TwoFactor, TwoFactorChallenge):
        db.session.execute(delete(model).where(model.user_id.in_(user_ids)).execution_options(synchronize_session=False))
