"""Where each role lands after signing in."""
from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

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


# What each unfinished page will do, shown on the page itself (and listed in the README).
NOT_BUILT = {
    "admin_users": _l("Managing users, departments, API keys, policy versions and the working-day calendar."),
}


def render_not_built(feature: str):
    """The honest page for a feature that is planned but not built: status 501."""
    return render_template("not_built.html", description=NOT_BUILT[feature]), 501
