"""Admin: user accounts."""
from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app.errors import DomainError, InvalidInput
from app.forms.admin import RoleForm, UserForm
from app.models.enums import Role
from app.services import accounts, recovery
from app.web.access import roles
from app.web.admin import bp, require_valid_post
from app.web.link_tokens import password_link_prefix


@bp.route("/users", methods=["GET", "POST"])
@roles(Role.ADMIN)
def users():
    """Search accounts; create one (every change is audited)."""
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_user(current_user, accounts.NewUser(
                username=form.username.data, display_name=form.display_name.data, email=form.email.data,
                role=form.role.data, password=form.password.data, department_code=form.department_code.data,
                subject_identifier=form.subject_identifier.data))
        except DomainError as error:
            form.form_errors.append(str(error))
            status = error.status
        else:
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    elif form.is_submitted():
        status = 422
    text = request.args.get("q", "")[:100]
    role = request.args.get("role") or None
    found = accounts.search_users(text, role if role in {r.value for r in Role} else None)
    return render_template("admin/users.html", form=form, users=found, q=text, role=role,
                           role_form=RoleForm(), action_form=FlaskForm(),
                           live_sessions=accounts.count_live_sessions([u.id for u in found])), status


@bp.route("/users/<id:user_id>/active", methods=["POST"])
@roles(Role.ADMIN)
def set_active(user_id: int):
    require_valid_post()
    active = request.form.get("active") == "1"
    accounts.set_active(current_user, user_id, active)
    flash(_("Account updated."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<id:user_id>/role", methods=["POST"])
@roles(Role.ADMIN)
def change_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        raise InvalidInput(_("Choose a valid role."))
    accounts.change_role(current_user, user_id, form.role.data, form.department_code.data,
                              form.subject_identifier.data)
    flash(_("Account updated."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<id:user_id>/sessions/end", methods=["POST"])
@roles(Role.ADMIN)
def end_sessions(user_id: int):
    """Sign the user out everywhere (audited)."""
    require_valid_post()
    count = accounts.admin_end_sessions(current_user, user_id)
    flash(_("%(count)d sessions of the account have ended.", count=count), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<id:user_id>/password-reset", methods=["POST"])
@roles(Role.ADMIN)
def issue_password_reset(user_id: int):
    """Issue a single-use link: by mail to the account's address (its token minted as the mail
    goes out, never shown here), or, for an account without one, shown on this page once."""
    require_valid_post()
    issued = recovery.issue_reset(current_user, user_id, password_link_prefix())
    if issued.by_mail:
        flash(_("A password link is on its way to the account's e-mail address."), "success")
        return redirect(url_for("admin.users"))
    link = password_link_prefix() + issued.token
    response = make_response(render_template("admin/password_link.html", user=issued.user, link=link,
                                             expires_at=issued.expires_at))
    response.headers["Cache-Control"] = "no-store"
    return response
