"""The officer desk and the supervisor dashboard."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.models.enums import Role
from app.services import clock
from app.services.cases import count_open_cases, list_open_cases
from app.web.access import roles
from app.web.home import render_not_built

bp = Blueprint("desk", __name__, url_prefix="/desk")


@bp.route("/")
@roles(Role.OFFICER, Role.SUPERVISOR)
def home():
    return render_template("desk/home.html", cases=list_open_cases(limit=50), now=clock.now())


@bp.route("/dashboard")
@roles(Role.SUPERVISOR)
def dashboard():
    now = clock.now()
    return render_template(
        "desk/dashboard.html",
        open_counts=count_open_cases(),
        overdue_counts=count_open_cases(overdue_before=now),
    )


@bp.route("/queues")
@roles(Role.OFFICER, Role.SUPERVISOR)
def queues():
    return render_not_built("queues")


@bp.route("/dashboard/sla")
@roles(Role.SUPERVISOR)
def sla_charts():
    return render_not_built("dashboard_charts")
