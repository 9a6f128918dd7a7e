"""The admin console."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app.errors import DomainError, InvalidInput
from app.extensions import db
from app.forms.admin import RoleForm, UserForm
from app.services import users as users_service
from app.models.enums import Role
from app.services.admin import list_dead_letters, platform_overview
from app.services.dispatch import retry_notices
from app.services.jobs import job_health
from app.web.access import roles

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@roles(Role.ADMIN)
def home():
    return render_template("admin/home.html", overview=platform_overview(), jobs=job_health())


@bp.route("/outbox/dead", methods=["GET", "POST"])
@roles(Role.ADMIN)
def dead_letters():
    """Notices that could not be delivered: see why, and put them back in line."""
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            raise InvalidInput(_("The form has expired. Please reload the page."))
        try:
            ids = [int(value) for value in request.form.getlist("id")]
        except ValueError:
            raise InvalidInput(_("Choose the notices to retry.")) from None
        if not ids:
            raise InvalidInput(_("Choose the notices to retry."))
        count = retry_notices(ids)
        flash(_("%(n)d notice(s) will be sent again.", n=count), "success")
        return redirect(url_for("admin.dead_letters"))
    return render_template("admin/dead_letters.html", notices=list_dead_letters(), form=form)


@bp.route("/users", methods=["GET", "POST"])
@roles(Role.ADMIN)
def users():
    """Search accounts; create one (every change is audited)."""
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = users_service.create_user(current_user, users_service.NewUser(
                username=form.username.data, display_name=form.display_name.data, email=form.email.data,
                role=form.role.data, password=form.password.data, department_code=form.department_code.data,
                subject_identifier=form.subject_identifier.data))
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
            status = error.status
        else:
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    elif form.is_submitted():
        status = 422
    text = request.args.get("q", "")[:100]
    role = request.args.get("role") or None
    found = users_service.search_users(text, role if role in {r.value for r in Role} else None)
    return render_template("admin/users.html", form=form, users=found, q=text, role=role,
                           role_form=RoleForm(), action_form=FlaskForm()), status


@bp.route("/users/<id:user_id>/active", methods=["POST"])
@roles(Role.ADMIN)
def set_active(user_id: int):
    form = FlaskForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("The form has expired. Please reload the page."))
    active = request.form.get("active") == "1"
    users_service.set_active(current_user, user_id, active)
    flash(_("Account updated."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<id:user_id>/role", methods=["POST"])
@roles(Role.ADMIN)
def change_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Choose a valid role."))
    users_service.change_role(current_user, user_id, form.role.data, form.department_code.data,
                              form.subject_identifier.data)
    flash(_("Account updated."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/audit")
@roles(Role.ADMIN)
def audit():
    return render_template("admin/audit.html", entries=users_service.list_audit())
