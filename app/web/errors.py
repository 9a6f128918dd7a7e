"""Error pages in the user's language, and the mapping of domain errors to status codes.

The one place of the web layer that touches the session: an error that reaches a handler
rolls it back (use cases roll back what they started; this covers a failure anywhere else).
The API's problem details (RFC 9457) are made here too.

A database that does not answer (down, restarting, a cut network, a full pool) is a 503 with
Retry-After, never a 500 (issue 17): the page says to try again shortly, in the visitor's
language as the cookie tells it (the account's preference is in the database that is away).
The engine's pre-ping (config.py) replaces the dead connections at the next checkout, so the
first request after the database is back is answered as usual.

An upload over MAX_CONTENT_LENGTH is a 413 page that says the limit, that nothing was saved, and
leads back to the form (issue 15). The limits the upload forms state (their hint, and the data
attributes ``static/js/upload.js`` checks the chosen files against before sending) come from the
same numbers, by ``upload_rules``.
"""
from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, jsonify, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.errors import DomainError
from app.extensions import db, limiter
from app.services.calendar import MAX_SCHEDULE_BYTES
from app.services.uploads import MAX_FILE_BYTES


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
        500: _("The error has been logged. Nothing you submitted before this was lost. Please try again later."),
        503: _("The platform cannot reach its database at the moment. Please try again in a minute; "
               "if you had just submitted something, check whether it was saved."),
    }


def _render(status: int, detail: str | None = None, fresh_form_token: bool = False):
    """The error page, or a problem+json body for the API. ``fresh_form_token``: the page
    carries a new form token, which the upload script takes to send the form again without
    losing the chosen files (only this site's own script can read it)."""
    title = _titles().get(status, _("Error"))
    detail = detail or _explanations().get(status, "")
    if request.blueprint == "api" or request.path.startswith("/api/") or request.accept_mimetypes.best == "application/problem+json":
        response = jsonify(type="about:blank", title=title, status=status, detail=detail)
        response.mimetype = "application/problem+json"
        return response, status
    return render_template("error.html", status=status, title=title, detail=detail,
                           fresh_form_token=fresh_form_token), status


def size_text(size: int) -> str:
    """A size as the forms state it: "20 MB", "1.5 MB", "256 KB" (1 MB is 1024 KB)."""
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if size >= unit:
            value = size / unit
            return f"{value:.0f} {name}" if value == int(value) else f"{value:.1f} {name}"
    return f"{size} B"


DOCUMENTS, RECORDS, SCHEDULE = "documents", "records", "schedule"  # the kinds of upload forms
_ACCEPT = {DOCUMENTS: ".pdf,.jpg,.jpeg,.png", RECORDS: ".csv,.xlsx", SCHEDULE: ".csv"}  # as the forms' inputs


@dataclass(frozen=True)
class UploadRules:
    """What an upload form tells about its files, from the limits the server applies: the total
    of a request (MAX_CONTENT_LENGTH), a file's (the services'), the types. ``attrs`` go on the
    ``<form>`` (upload.js reads them, messages included, so that they are in the page's language),
    ``accept`` on each file input, ``hint`` beside it."""

    max_total: int
    max_file: int
    accept: str
    types: str
    check_types: bool
    several: bool  # several files per form: the total is stated beside each one's limit

    @property
    def hint(self) -> str:
        if self.several and self.max_file < self.max_total:
            return _("%(types)s, at most %(each)s each and %(total)s in all", types=self.types,
                     each=size_text(self.max_file), total=size_text(self.max_total))
        if self.several:
            return _("%(types)s, at most %(total)s in all", types=self.types, total=size_text(self.max_total))
        return _("%(types)s, at most %(size)s", types=self.types, size=size_text(self.max_file))

    @property
    def attrs(self) -> dict[str, str]:
        """``{name}``, ``{size}`` and ``{percent}`` in the messages are filled in by the script."""
        return {
            "data-upload": "", "data-max-total": str(self.max_total), "data-max-file": str(self.max_file),
            "data-accept": self.accept if self.check_types else "",
            "data-msg-file": _("%(name)s is %(size)s: a file may be at most %(limit)s.", name="{name}",
                               size="{size}", limit=size_text(self.max_file)),
            "data-msg-total": _("The chosen files are %(size)s in all: at most %(limit)s can be sent at once.",
                                size="{size}", limit=size_text(self.max_total)),
            "data-msg-type": _("%(name)s is not a %(types)s file.", name="{name}", types=self.types),
            "data-msg-empty": _("The file %(name)s is empty.", name="{name}"),
            "data-msg-progress": _("Upload progress"),
            "data-msg-sending": _("Sending: %(percent)s %%", percent="{percent}"),
            "data-msg-sent": _("Sent. Waiting for the answer…"),
            "data-msg-refused": _("The upload was not accepted:"),
            "data-msg-kept": _("What you typed and the files you chose are still in the form."),
            "data-msg-saved": _("Saved as a download: %(name)s", name="{name}"),
            "data-msg-failed": _("The connection broke off before an answer came. What you typed and the files "
                                 "you chose are still in the form; please try again."),
        }


def upload_rules(kind: str) -> UploadRules:
    """The rules of an upload form: DOCUMENTS (evidence, identity documents: PDF, JPG or PNG,
    MAX_FILE_BYTES each), RECORDS (a department's CSV or XLSX import), SCHEDULE (the calendar's
    CSV). No file may be larger than the request may be."""
    config = current_app.config
    total = int(config.get("MAX_CONTENT_LENGTH") or 0) or 2**53  # no limit set: none stated either
    if kind == DOCUMENTS:
        return UploadRules(total, min(MAX_FILE_BYTES, total), _ACCEPT[kind], _("PDF, JPG or PNG"), True, True)
    if kind == RECORDS:
        return UploadRules(total, min(int(config["IMPORT_MAX_BYTES"]), total), _ACCEPT[kind], _("CSV or XLSX"),
                           True, False)
    if kind == SCHEDULE:  # its content decides, whatever the file is called
        return UploadRules(total, min(MAX_SCHEDULE_BYTES, total), _ACCEPT[kind], "CSV", False, False)
    raise ValueError(f"no upload rules for {kind!r}")


def _form_page() -> str:
    """Where the refused form was: the page it was sent from (same site), else its own address
    if that answers GET, else the home page."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/") and not referrer.path.startswith(("//", "/\\")):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    rule = request.url_rule
    if request.method == "GET" or (rule is not None and "GET" in (rule.methods or ())):
        return request.full_path.rstrip("?")
    return url_for("public.index")


_IMPORTS = {"dept.import_records_page": RECORDS, "admin.import_schedule": SCHEDULE}  # the other uploads are documents


def _too_large():
    """413: what may be sent, how much was, that nothing was kept, and the way back to the form."""
    rules = upload_rules(_IMPORTS.get(request.endpoint or "", DOCUMENTS))
    limit = size_text(rules.max_total)
    sent = size_text(request.content_length) if request.content_length else None
    detail = (_("%(sent)s was sent; at most %(limit)s can be sent at once, all files together. Nothing was saved.",
                sent=sent, limit=limit) if sent else
              _("At most %(limit)s can be sent at once, all files together. Nothing was saved.", limit=limit))
    if request.blueprint == "api" or request.path.startswith("/api/") or request.accept_mimetypes.best == "application/problem+json":
        return _render(413, detail)
    return render_template("errors/413.html", title=_titles()[413], detail=detail, back=_form_page(), rules=rules), 413


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

    app.add_template_global(upload_rules, "upload_rules")

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        return _too_large()

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(
            400,
            _("The form has expired or did not come from this site (missing security token). "
              "Please reload the page and submit it again."),
            fresh_form_token=True,
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
