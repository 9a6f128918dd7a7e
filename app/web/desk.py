"""The officer desk and the supervisor dashboard."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from markupsafe import Markup

from app.models.enums import Role
from app.services import clock
from app.services.cases import count_open_cases, list_open_cases
from app.services.policy import clock_rule, get_policy_in_force
from app.web.access import roles
from app.web.labels import label
from workflows import CASE_WORKFLOWS, RECORD
from workflows.diagram import shared_exits, svg
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


ALL_WORKFLOWS = {**CASE_WORKFLOWS, RECORD.name: RECORD}


@bp.route("/workflows")
@bp.route("/workflows/<name>")
@roles(Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
def workflows(name: str = "objection"):
    """Each workflow drawn from its definition, with its steps and the deadlines in force."""
    workflow = ALL_WORKFLOWS.get(name)
    if workflow is None:
        abort(404)
    vocabulary = "record_state" if workflow is RECORD else "case_state"

    def name_of(kind: str, code: str) -> str:
        return label(vocabulary if kind == "state" else kind, code)

    policy = get_policy_in_force()
    clocks = [
        (clock, clock_rule(policy.body, workflow.name, clock.name)) for clock in workflow.clocks
    ]
    return render_template(
        "desk/workflows.html",
        workflows=ALL_WORKFLOWS,
        workflow=workflow,
        vocabulary=vocabulary,
        diagram=Markup(svg(workflow, label=name_of)),
        shared=shared_exits(workflow),
        clocks=clocks,
        policy=policy,
    )
