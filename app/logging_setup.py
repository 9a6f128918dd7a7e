"""Logging that never writes a resident identity number in clear.

A number reaches a log in the message (a path, a query) and, as often, in an exception: the
parameters of an ``IntegrityError``, a ``ValueError`` raised with the number in its args, a
stack. A handler's filter sees the record before the formatter turns ``exc_info`` into text, so
scrubbing the message alone left the traceback in clear. Here the exception and the stack are
formatted once, scrubbed, and kept on the record (``exc_text``), which every standard formatter
prints instead of formatting ``exc_info`` again.

Where: a log record factory, so that every record is scrubbed when it is made, whichever logger
made it and whichever handlers write it - the root's, werkzeug's, gunicorn's error and access
logs (which do not propagate to the root and have handlers of their own), and handlers added
later. ``ScrubIdentifiers`` does the same as a filter, for a logging configuration that wants it
on a handler.

``LOG_FORMAT=json`` (issue 17) writes one JSON object a line, with the request's id: the
``X-Request-ID`` a trusted proxy gave (nginx's ``$request_id``), else one made here, and sent
back in the response's header so that a user's report, nginx's log and ours meet. The JSON
formatter writes the message and the exception as the factory left them: scrubbed.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import traceback
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context, request

from app.identifiers import scrub

REQUEST_ID_HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; anything else a proxy may pass must be as tame.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")

_FORMATTER = logging.Formatter()


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask identity-number-shaped text in the record's message, exception and stack, in place."""
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the message: the handler reports it, as without us
        message = None
    if message is not None and (cleaned := scrub(message)) != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = _format_exception(record.exc_info)
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


def _format_exception(exc_info) -> str:
    """As ``logging.Formatter.formatException`` writes it (chained causes included)."""
    try:
        return _FORMATTER.formatException(exc_info)
    except Exception:  # an exception whose __str__ fails must not lose the log line
        return "".join(traceback.format_exception_only(exc_info[0], None)).rstrip()


class ScrubIdentifiers(logging.Filter):
    """Masks identity-number-shaped text in the message, the exception and the stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def _scrubbing_factory(make_record):
    def factory(*args, **kwargs) -> logging.LogRecord:
        return scrub_record(make_record(*args, **kwargs))

    factory.scrubs_identifiers = True
    return factory


def install_scrubber() -> None:
    """Scrub every log record as it is made (once per process), and give the root logger a handler."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The state machine library narrates every callback at INFO: keep it to warnings.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    # APScheduler's executor says "running" and "executed" at INFO for every run, twice per poll
    # every five seconds; the job runner logs what a run did (app.jobs), so keep the executor's
    # to warnings (a missed or failed run is still logged).
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    current = logging.getLogRecordFactory()
    if not getattr(current, "scrubs_identifiers", False):
        logging.setLogRecordFactory(_scrubbing_factory(current))


def current_request_id() -> str | None:
    """The request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        # Only a proxy we trust sets it (nginx overwrites whatever a client sent); without one,
        # a client's header would let it write what it likes into our logs.
        trusted = int(current_app.config.get("TRUSTED_PROXY_COUNT") or 0) > 0
        g.request_id = given if trusted and _REQUEST_ID.fullmatch(given) else secrets.token_hex(16)
    return g.request_id


def echo_request_id(response):
    """``after_request``: the id in the answer's header."""
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    return response


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        http = getattr(record, "http", None)  # gunicorn's access log (deploy/gunicorn.conf.py)
        if isinstance(http, dict):
            entry["http"] = http
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = scrub(_format_exception(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


# The handlers that write requests and errors: the root's and gunicorn's (which do not propagate).
JSON_LOGGERS = ("", "gunicorn.error", "gunicorn.access")


def install_request_logging(app: Flask) -> None:
    """The request id on every answer; with ``LOG_FORMAT=json``, JSON lines from every handler."""
    app.after_request(echo_request_id)
    if str(app.config.get("LOG_FORMAT") or "text").lower() != "json":
        return
    formatter = JsonFormatter()
    for name in JSON_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(formatter)
