"""The subject portal: my records, my cases, applications."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.models.enums import Role
from app.services.cases import list_cases_of_subject
from app.services.records import list_records_of_subject
from app.web.access import roles
from app.web.home import render_not_built

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.route("/")
@roles(Role.APPLICANT)
def home():
    subject = current_user.subject
    return render_template(
        "portal/home.html",
        subject=subject,
        records=list_records_of_subject(subject.id),
        cases=list_cases_of_subject(subject.id),
    )


@bp.route("/objections/new")
@roles(Role.APPLICANT)
def new_objection():
    return render_not_built("submit_objection")


@bp.route("/repairs/new")
@roles(Role.APPLICANT)
def new_repair():
    return render_not_built("submit_repair")


@bp.route("/complaints/new")
@roles(Role.APPLICANT)
def new_complaint():
    return render_not_built("submit_complaint")
