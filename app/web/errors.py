"""Error pages in the user's language, and the mapping of domain errors to status codes.

The one place of the web layer that touches the session: an error that reaches a handler
rolls it back (use cases roll back what they started; this covers a failure anywhere else).
The API's problem details (RFC 9457) are made here too.

A database that does not answer (down, restarting, a cut network, a full pool) is a 503 with
Retry-After, never a 500 (issue 17): the page says to try again shortly, in the visitor's
language as the cookie tells it (the account's preference is in the database that is away).
The engine's pre-ping (config.py) replaces the dead connections at the next checkout, so the
first request after the database is back is answered as usual.
"""
from __future__ import annotations

import math
import sqlite3
import time
from datetime import timedelta

from flask import Blueprint, Flask, current_app, g, jsonify, render_template, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.errors import DomainError
from app.extensions import db, limiter


def _titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood"),
        401: _("Please sign in"),
        403: _("You may not open this page"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        409: _("Someone else changed this in the meantime"),
        410: _("This link is no longer valid"),
        413: _("The upload is too large"),
        422: _("Some input is not valid"),
        429: _("Too many attempts"),
        500: _("Something went wrong on our side"),
        501: _("Not built yet"),
        503: _("The service is briefly unavailable"),
    }


def _explanations() -> dict[int, str]:
    return {
        400: _("The request was malformed. Please go back and try again."),
        403: _("Your account does not have access to this page."),
        404: _("The page or object does not exist, or you may not see it."),
        405: _("This address does not accept that kind of request."),
        409: _("The page you saw is out of date. Reload it, check the changes and try again."),
        413: _("Files may be at most 20 MB in all."),
        500: _("The error has been logged. Nothing you submitted before this was lost. Please try again later."),
        503: _("The platform cannot reach its database at the moment. Please try again in a minute; "
               "if you had just submitted something, check whether it was saved."),
    }


def _render(status: int, detail: str | None = None):
    title = _titles().get(status, _("Error"))
    detail = detail or _explanations().get(status, "")
    if request.blueprint == "api" or request.path.startswith("/api/") or request.accept_mimetypes.best == "application/problem+json":
        response = jsonify(type="about:blank", title=title, status=status, detail=detail)
        response.mimetype = "application/problem+json"
        return response, status
    return render_template("error.html", status=status, title=title, detail=detail), status


def _retry_after() -> int:
    """Seconds until the breached limit's window ends (at least 1; 60 if it cannot be told)."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    return max(1, math.ceil(breached.window.reset_time - time.time()))


def _wait_text(seconds: int) -> str:
    """``seconds`` rounded up to a whole second, minute, hour or day, in the reader's language:
    never a shorter wait than the real one."""
    unit = next(u for u in (86400, 3600, 60, 1) if seconds >= u or u == 1)
    return format_timedelta(timedelta(seconds=math.ceil(seconds / unit) * unit), threshold=1)


def _too_many_requests():
    """A throttle's refusal: 429 with Retry-After, and a page that says how long to wait."""
    wait = _retry_after()
    if request.blueprint == "api" or request.path.startswith("/api/") or request.accept_mimetypes.best == "application/problem+json":
        response, status = _render(429, _("Too many requests. Please try again in %(wait)s.", wait=_wait_text(wait)))
    else:
        response = render_template("errors/429.html", wait=_wait_text(wait), public_query=request.endpoint == "public.query")
        status = 429
    return response, status, {"Retry-After": str(wait)}


_SQLITE_BUGS = ("no such table", "no such column", "near ", "table ", "incomplete input")


def database_unreachable(error: Exception) -> bool:
    """A failure of the connection, not of the statement: the server is down or restarting, the
    network cut, the pool exhausted. A constraint or a bad statement stays a 500 (a bug)."""
    if isinstance(getattr(error, "orig", None), sqlite3.OperationalError) and str(error.orig).startswith(_SQLITE_BUGS):
        return False  # SQLite says OperationalError for a missing table or column too: a bug
    if isinstance(error, PoolTimeout | OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: nothing to roll back, the pool drops it
        current_app.logger.debug("rollback after a lost connection failed", exc_info=True)


def _service_unavailable():
    """503 with Retry-After: a page in the visitor's language, problem details for the API."""
    # Whoever signed in cannot be looked up now: the page is rendered for nobody, so that the
    # template (and the locale selector) does not ask the database again.
    g._login_user = AnonymousUserMixin()
    wait = int(current_app.config.get("DATABASE_RETRY_AFTER") or 30)
    if request.blueprint == "api" or request.path.startswith("/api/") or request.accept_mimetypes.best == "application/problem+json":
        response, status = _render(503)
    else:
        response = render_template("errors/503.html", wait=_wait_text(wait))
        status = 503
    return response, status, {"Retry-After": str(wait), "Cache-Control": "no-store"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        return _too_many_requests()

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(
            400,
            _("The form has expired or did not come from this site (missing security token). "
              "Please reload the page and submit it again."),
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return _render(error.status, str(error) if error.message is not None else None)

    @app.errorhandler(StaleDataError)
    def stale(error: StaleDataError):
        db.session.rollback()
        return _render(409)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _render(error.code or 500)

    def unavailable(error: Exception):
        _rollback_quietly()
        # One line, no traceback: an outage makes many, and the database's own log says why.
        app.logger.warning("database unreachable on %s %s: %s", request.method, request.path,
                           type(getattr(error, "orig", None) or error).__name__)
        return _service_unavailable()

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_error(error: Exception):
        return unavailable(error) if database_unreachable(error) else unexpected(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        cause = error.__cause__ or error.__context__
        if cause is not None and database_unreachable(cause):  # a lost connection under another error
            return unavailable(cause)
        _rollback_quietly()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500)


class ApiError(DomainError):
    """A request the API refuses before any use case runs: status, detail, field errors."""

    def __init__(self, status: int, detail: str, errors: list | None = None):
        super().__init__(detail)
        self.status, self.errors = status, errors


API_TITLES = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Content"}


def problem(status: int, title: str, detail: str | None = None, errors: list | None = None):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def register_api_error_handlers(bp: Blueprint) -> None:
    @bp.errorhandler(ApiError)
    def api_error(error: ApiError):
        db.session.rollback()
        return problem(error.status, API_TITLES.get(error.status, "Error"), str(error.message), error.errors)

    @bp.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return problem(error.status, type(error).__name__, str(error))
