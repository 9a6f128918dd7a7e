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
from app.services.admin import latest_recompute, request_recompute
from app.services.binding import with_identity_check
from app.web.access import roles
from app.web.admin import bp, require_valid_post


@bp.route("/policy")
@roles(Role.ADMIN)
def policy():
    in_force = service.get_policy_in_force()
    return render_template("admin/policy.html", in_force=in_force, versions=service.list_versions(),
                           behind=service.count_behind(in_force.version), today=clock.today(),
                           action_form=FlaskForm(), run=latest_recompute())


@bp.route("/policy/<id:version>")
@roles(Role.ADMIN)
def policy_version(version: int):
    return render_template("admin/policy_version.html", policy=service.get_version(version), today=clock.today())


@bp.route("/policy/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def new_policy():
    """Draft from the version in force; "preview" shows the effect, "save" schedules it.

    The identity check of bindings is among the clocks, with its default length where the
    version in force has none (policy v1 predates bindings).
    """
    base = with_identity_check(service.get_policy_in_force().body)
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
    """Queue the recompute for the scheduler and answer at once; the policy page shows its progress
    (409 while another one is queued or running)."""
    require_valid_post()
    request_recompute(current_user, version)
    flash(_("Recompute under version %(v)d queued: the scheduler runs it in the background; its progress "
            "is shown below.", v=version), "success")
    return redirect(url_for("admin.policy"))
