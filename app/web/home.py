"""Where each role lands after signing in, and where a ``next`` may send it."""
from __future__ import annotations

from urllib.parse import urlsplit

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


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative ``//evil``."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target
