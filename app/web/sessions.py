"""Signing in and out on every path (password, sign-up link, identity provider, second factor),
and the check of the signed-in session on every request (issue 13).

The Flask cookie carries the session's random id (``sid``) beside Flask-Login's user id; the
server keeps the session (``app.services.accounts.sessions``) and ``load_user``, Flask-Login's
user loader, signs nobody in whose session is not live there. Signing out ends the session on
the server, so a copy of the cookie taken before opens nothing after, and re-signing the cookie
(any session write, the language switch) does not move the server's lifetimes.

The device cookie is the sign-in back-off's (``app.services.accounts.signin``): a browser that
signed in with the right password keeps a signed random id for that name, and its attempts
count only its own failures, so someone guessing from elsewhere does not slow its owner down.
"""
from __future__ import annotations

import hashlib
import secrets

from flask import current_app, g, request, session
from flask_login import login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.services import accounts

SESSION_KEY = "sid"
DEVICE_COOKIE = "casedesk_device"
_FLASK_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember")


def sign_in_user(user, *, strength: str = "password") -> None:
    """Sign ``user`` in: a fresh cookie session (no fixation; the language is kept), a new
    server-side session of this ``strength``, and Flask-Login's sign-in. A session the browser
    had before is ended."""
    previous = session.get(SESSION_KEY)
    if previous:
        accounts.end_session(previous, accounts.EndReason.REPLACED)
    logout_user()
    _fresh_cookie_session()
    session[SESSION_KEY] = accounts.start_session(user, strength=strength, address=request.remote_addr,
                                                  user_agent=request.user_agent.string)
    login_user(user)


def sign_out_user() -> None:
    """End this browser's session on the server and forget it in the cookie (the language stays)."""
    accounts.end_session(session.get(SESSION_KEY), accounts.EndReason.SIGNED_OUT)
    logout_user()
    _fresh_cookie_session()


def _fresh_cookie_session() -> None:
    """Empty the cookie session but for its language. The form token Flask-WTF made this request
    for the old session (kept in ``g``: a form built before the sign-in made one) goes too, so a
    page rendered after it (the recovery codes after enrolment) carries one the new session knows."""
    locale = session.get("locale")
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    if locale:
        session["locale"] = locale


def load_user(user_id: str):
    """Flask-Login's user loader: the user of the cookie's live server-side session, or nobody
    (and the cookie forgets the sign-in)."""
    row = accounts.resume_session(session.get(SESSION_KEY), user_id)
    if row is None:
        for key in (SESSION_KEY, *_FLASK_LOGIN_KEYS):
            session.pop(key, None)
        return None
    g.user_session_id, g.user_session_strength = row.id, row.strength
    return row.user


def current_session_id() -> int | None:
    """The id of the signed-in request's server-side session (to keep it when the others end)."""
    return g.get("user_session_id")


def current_session_strength() -> str | None:
    """How the signed-in request's session was opened: "password", "totp", "oidc"."""
    return g.get("user_session_strength")


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="casedesk-sign-in-device")


def _name_tag(username: str) -> str:
    """The name as the device cookie keeps it: a hash, so the cookie does not carry an address."""
    return hashlib.sha256((username or "").strip().lower()[:254].encode()).hexdigest()[:16]


def device_for(username: str) -> str | None:
    """The browser's device id for this name, when its cookie is genuine, recent and for it."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        data = _devices().loads(value, max_age=current_app.config["SIGNIN_DEVICE_DAYS"] * 86400)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != _name_tag(username) or not isinstance(data.get("d"), str):
        return None
    return data["d"]


def remember_device(response, username: str, device: str | None = None):
    """Give (or renew) the browser its device cookie for ``username``, after the right password."""
    value = _devices().dumps({"u": _name_tag(username), "d": device or secrets.token_urlsafe(16)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=current_app.config["SIGNIN_DEVICE_DAYS"] * 86400,
                        path="/auth/", secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite="Lax")
    return response
