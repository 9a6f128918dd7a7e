"""Where each role lands after signing in."""
from __future__ import annotations

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
