"""The site's own address, that every mailed or printed link starts with (no trailing slash).

``PUBLIC_BASE_URL`` (required in production, config.py); unset, ``SERVER_NAME`` (the tests'),
else the development address. Never the request's Host header: a client could otherwise choose
where a mailed token goes (host header poisoning). Services use it too (a letter is issued, a
notice written, outside any request: jobs, the demo), so it lives below both web and services.
"""
from __future__ import annotations

from flask import current_app

DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"  # scripts/run.sh's address


def site_address() -> str:
    config = current_app.config
    if config.get("PUBLIC_BASE_URL"):
        return config["PUBLIC_BASE_URL"].rstrip("/")
    if config.get("SERVER_NAME"):
        return f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME']}"
    return DEVELOPMENT_BASE_URL


def absolute(link: str) -> str:
    """A link as a mail or a letter prints it: a path of the site made absolute, any other kept."""
    return site_address() + link if link.startswith("/") else link
