"""Admin: policy versions — the one in force, its history, drafts with a preview, recompute."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from app import clock
from app.errors import DomainError, InvalidInput
from app.extensions import db
from app.models import Case, CreditRecord
from app.models.enums import Role
from app.services.policy import get_policy_in_force
from app.services.admin.recompute import recompute
from app.services.policy import versions as service
from app.web.access import roles
from app.web.admin import bp, require_valid_post
from workflows.record import IN_PUBLICITY


@bp.route("/policy")
@roles(Role.ADMIN)
def policy():
    in_force = get_policy_in_force()
    behind = {
        "records": db.session.scalar(select(func.count()).select_from(CreditRecord).where(
            CreditRecord.state.in_(IN_PUBLICITY), CreditRecord.policy_version != in_force.version)),
        "cases": db.session.scalar(select(func.count()).select_from(Case).where(
            Case.closed_at.is_(None), Case.policy_version != in_force.version)),
    }
    return render_template("admin/policy.html", in_force=in_force, versions=service.list_versions(),
                           behind=behind, today=clock.today(), action_form=FlaskForm())


@bp.route("/policy/<id:version>")
@roles(Role.ADMIN)
def policy_version(version: int):
    return render_template("admin/policy_version.html", policy=service.get_version(version), today=clock.today())


@bp.route("/policy/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def new_policy():
    """Draft from the version in force; "preview" shows the effect, "save" schedules it."""
    base = get_policy_in_force().body
    form = FlaskForm()
    body, errors, preview, status = base, {}, None, 200
    effective = request.form.get("effective_from", "")
    note = request.form.get("note", "")[:2000]
    if request.method == "POST":
        if not form.validate_on_submit():
            raise InvalidInput(_("The form has expired. Please reload the page."))
        body, errors = service.body_from_form(base, request.form)
        try:
            effective_from = date.fromisoformat(effective)
        except ValueError:
            errors["effective_from"] = _("Choose the day the version takes effect (YYYY-MM-DD).")
        else:
            if effective_from < clock.today():
                errors["effective_from"] = _("A policy version cannot take effect in the past; choose today or a later day.")
        if errors:
            status = 422
        elif request.form.get("action") == "save":
            try:
                created = service.create_version(current_user, body, effective_from, note)
            except DomainError as error:
                errors["form"] = str(error)
                status = error.status
            else:
                flash(_("Version %(v)d saved; it takes effect on %(d)s.", v=created.version, d=created.effective_from), "success")
                return redirect(url_for("admin.policy"))
        else:
            preview = service.preview(body, effective_from)
    return render_template("admin/policy_new.html", body=body, errors=errors, preview=preview, form=form,
                           effective_from=effective or clock.today().isoformat(), note=note), status


@bp.route("/policy/<id:version>/withdraw", methods=["POST"])
@roles(Role.ADMIN)
def withdraw_policy(version: int):
    require_valid_post()
    service.withdraw_version(current_user, version)
    flash(_("Version %(v)d withdrawn.", v=version), "success")
    return redirect(url_for("admin.policy"))


@bp.route("/policy/<id:version>/recompute", methods=["POST"])
@roles(Role.ADMIN)
def recompute_policy(version: int):
    require_valid_post()
    result = recompute(current_user, version)
    flash(_("Recomputed under version %(v)d: %(r)d records (%(rm)d with new dates), %(c)d cases (%(t)d deadlines moved).",
            v=version, r=result.records, rm=result.records_moved, c=result.cases, t=result.timers_moved), "success")
    return redirect(url_for("admin.policy"))
