"""Where each role lands after signing in, and where a ``next`` may send it."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import request
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models.enums import Role

HOME_ENDPOINTS = {
    Role.APPLICANT: "portal.home",
    Role.OFFICER: "desk.home",
    Role.SUPERVISOR: "desk.dashboard",
    Role.DEPARTMENT: "dept.home",
    Role.ADMIN: "admin.home",
}


def home_endpoint(user) -> str:
    return HOME_ENDPOINTS.get(user.role, "public.index")


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: CR or LF in a
# redirect's Location is header injection (and was a 500: werkzeug refuses the header); a tab or a
# newline is dropped by browsers from a URL, so ``/<TAB>/evil.example`` would become ``//evil.example``.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative ``//evil``, no control
    character (``refuse_unsafe_next`` answers those 400 before any view; this is the last word)."""
    if not target or _CONTROL.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def refuse_unsafe_next():
    """Before every request: a ``next`` (query or form) with a control character is refused with a
    400, as the issue asks, before a view signs anybody in or builds a redirect from it."""
    values = request.args.getlist("next")
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        values += request.form.getlist("next")
    if any(_CONTROL.search(value) for value in values):
        raise DomainError(_l("The link's return address (next) contains control characters such as a line break. "
                             "Open the page again without it."))  # DomainError: a 400 with this message
