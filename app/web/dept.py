"""The department inbox: referrals, notices and the department's own records."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.models.enums import Role
from app.services import clock
from app.services.cases import list_open_cases
from app.services.records import count_records_by_state, list_records_of_department
from app.web.access import roles
from app.web.home import render_not_built

bp = Blueprint("dept", __name__, url_prefix="/dept")


@bp.route("/")
@roles(Role.DEPARTMENT)
def home():
    department = current_user.department
    return render_template(
        "dept/home.html",
        department=department,
        referrals=list_open_cases(department_id=department.id, state="referred"),
        now=clock.now(),
        counts=count_records_by_state(department.id),
        records=list_records_of_department(department.id, limit=50),
    )


# States in which a case waits for its department: objection verification, repair opinion,
# a complaint assigned to the department.
WAITING_FOR_DEPARTMENT = ("referred", "awaiting_department", "assigned")


@bp.route("/referrals")
@roles(Role.DEPARTMENT)
def referrals():
    department = current_user.department
    waiting = [
        c for state in WAITING_FOR_DEPARTMENT
        for c in list_open_cases(department_id=department.id, state=state, limit=500)
        if state != "assigned" or c.assignee_id is None
    ]
    waiting.sort(key=lambda c: (c.due_at is None, c.due_at))
    return render_template("dept/referrals.html", department=department, referrals=waiting, now=clock.now())


@bp.route("/records/new")
@roles(Role.DEPARTMENT)
def new_record():
    return render_not_built("record_entry")
