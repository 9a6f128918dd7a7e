"""Throttles of the public forms (issue 12), with Flask-Limiter: limits in the configuration.

The public query is counted per client address and per identifier typed, so that neither one
address scanning many numbers nor many addresses guessing names for one number get far; the
sign-up form, the sign-in form and password recovery per address (issue 13). Only POSTs
count: showing an empty form costs nothing. The client address is ``request.remote_addr``,
which is the peer unless ``TRUSTED_PROXY_COUNT`` proxies are trusted (ProxyFix, set up by the
application factory): a forged X-Forwarded-For from a client does not move it.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from flask import current_app, request
from flask_limiter.util import get_remote_address

from app import identifiers
from app.extensions import limiter


def typed_identifier_key() -> str:
    """A keyed hash of the identifier (or name) typed into the public query, normalised the way
    the query reads it: never the number itself, which would end up in the counters' store. An
    empty entry gives an empty key, which Flask-Limiter skips (the form refuses it anyway)."""
    value = identifiers.normalise(request.form.get("identifier", ""))
    if not value:
        return ""
    secret = (current_app.config.get("SECRET_KEY") or "").encode()
    return "id:" + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def throttle_public_query(view):
    """``PUBLIC_QUERY_LIMIT_PER_ADDRESS`` and ``PUBLIC_QUERY_LIMIT_PER_IDENTIFIER`` on POSTs."""
    view = limiter.limit(_setting("PUBLIC_QUERY_LIMIT_PER_IDENTIFIER"), key_func=typed_identifier_key,
                         methods=["POST"], scope="public-query-identifier")(view)
    return limiter.limit(_setting("PUBLIC_QUERY_LIMIT_PER_ADDRESS"), key_func=get_remote_address,
                         methods=["POST"], scope="public-query-address")(view)


def throttle_sign_up(view):
    """``SIGNUP_LIMIT_PER_ADDRESS`` on POSTs."""
    return limiter.limit(_setting("SIGNUP_LIMIT_PER_ADDRESS"), key_func=get_remote_address,
                         methods=["POST"], scope="sign-up-address")(view)


def throttle_sign_in(view):
    """``SIGNIN_LIMIT_PER_ADDRESS`` on POSTs: generous, since many people may sign in from one
    address; guessing one account's password is slowed per account (the back-off), not here."""
    return limiter.limit(_setting("SIGNIN_LIMIT_PER_ADDRESS"), key_func=get_remote_address,
                         methods=["POST"], scope="sign-in-address")(view)


def throttle_recovery(view):
    """``PASSWORD_RECOVERY_LIMIT_PER_ADDRESS`` on POSTs, for the forms of password recovery
    (asking for a link, setting the new password), which all share the one count."""
    return limiter.shared_limit(_setting("PASSWORD_RECOVERY_LIMIT_PER_ADDRESS"), scope="password-recovery-address",
                                key_func=get_remote_address, methods=["POST"])(view)
