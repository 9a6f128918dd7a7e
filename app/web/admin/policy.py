"""Admin: policy versions — the one in force, its history, drafts with a preview, recompute."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app import clock
from app.errors import DomainError, InvalidInput
from app.forms.admin_policy import policy_draft_form
from app.models.enums import Role
from app.services import policy as service
from app.services.admin import recompute
from app.web.access import roles
from app.web.admin import bp, require_valid_post


@bp.route("/policy")
@roles(Role.ADMIN)
def policy():
    in_force = service.get_policy_in_force()
    return render_template("admin/policy.html", in_force=in_force, versions=service.list_versions(),
                           behind=service.count_behind(in_force.version), today=clock.today(),
                           action_form=FlaskForm())


@bp.route("/policy/<id:version>")
@roles(Role.ADMIN)
def policy_version(version: int):
    return render_template("admin/policy_version.html", policy=service.get_version(version), today=clock.today())


@bp.route("/policy/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def new_policy():
    """Draft from the version in force; "preview" shows the effect, "save" schedules it."""
    base = service.get_policy_in_force().body
    form = policy_draft_form(base)
    body, errors, preview, status = base, {}, None, 200
    if form.is_submitted():
        valid = form.validate()
        if "csrf_token" in form.errors:
            raise InvalidInput(_("The form has expired. Please reload the page."))
        body, errors = form.draft_body(), form.error_messages()
        if not valid:
            status = 422
        elif form.action.data == "save":
            try:
                created = service.create_version(current_user, body, form.effective_day, form.note.data)
            except DomainError as error:
                errors["form"] = str(error)
                status = error.status
            else:
                flash(_("Version %(v)d saved; it takes effect on %(d)s.", v=created.version, d=created.effective_from), "success")
                return redirect(url_for("admin.policy"))
        else:
            preview = service.preview_draft(body, form.effective_day)
    return render_template("admin/policy_new.html", body=body, errors=errors, preview=preview, form=form,
                           effective_from=form.effective_from.data or clock.today().isoformat(),
                           note=form.note.data or ""), status


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
