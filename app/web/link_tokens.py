"""Password and sign-up links: the address a mail's link starts with (``public_url``), and
their tokens kept out of the logs (issue 13).

A link's token is in its address (``/auth/password/<token>``, ``/auth/sign-up/<token>``), and
request logs write addresses: the development server's (``werkzeug``), gunicorn's access and
error logs, Flask's "Exception on <path>". Whoever reads a log could otherwise use a link
before its owner does. The filter blanks the token in the final message of every record those
loggers write, and of whatever reaches the root logger's handlers; the path stays readable
(``/auth/password/[token]``). The password page's form posts the token in its body, to an
address without it (``app.web.passwords``), so only the link's GET carries one.

A reverse proxy in front keeps its own access log: there, log the path only up to
``/auth/password/`` and ``/auth/sign-up/`` (README, deployment).
"""
from __future__ import annotations

import logging
import re

from flask import url_for

from app.site import site_address

REDACTED = "[token]"
# The link pages' last path segment, but the fixed pages beside them.
_TOKEN_IN_PATH = re.compile(
    r"(/auth/(?:password|sign-up)/)(?!(?:forgot|new|change)(?=[\s\"'?#/]|$))([^\s\"'?#/]+)")
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "app", "flask.app")


def public_url(endpoint: str, **values) -> str:
    """The absolute address of ``endpoint`` on the site's own address, for a mail."""
    return site_address() + url_for(endpoint, **values)


def password_link_prefix() -> str:
    """The address of a password link's page without its token (the dispatcher appends the
    token it mints)."""
    return public_url("password.open_link", token="-").removesuffix("-")


def redact(text: str) -> str:
    """``text`` with the token of any link path in it replaced by ``[token]``."""
    return _TOKEN_IN_PATH.sub(lambda match: match.group(1) + REDACTED, text)


class RedactLinkTokens(logging.Filter):
    """Rewrites a record whose message holds a link token (arguments merged into the message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a message that does not format: left to the handler
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_link_token_filter() -> None:
    """On the request loggers themselves (gunicorn's do not propagate) and the root's handlers."""
    redactor = RedactLinkTokens()
    targets = [logging.getLogger(name) for name in LOGGERS] + list(logging.getLogger().handlers)
    for target in targets:
        if not any(isinstance(f, RedactLinkTokens) for f in target.filters):
            target.addFilter(redactor)
