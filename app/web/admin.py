"""The admin console."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.models.enums import Role
from app.services.admin import platform_overview
from app.web.access import roles
from app.web.home import render_not_built

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@roles(Role.ADMIN)
def home():
    return render_template("admin/home.html", overview=platform_overview())


@bp.route("/users")
@roles(Role.ADMIN)
def users():
    return render_not_built("admin_users")
