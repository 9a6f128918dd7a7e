"""Admin: departments, their webhook subscriptions and API keys."""
from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app.errors import DomainError, InvalidInput
from app.forms.admin import ApiKeyForm, DepartmentForm, WebhookForm
from app.models.enums import Role
from app.services import accounts
from app.web.access import roles
from app.web.admin import bp, require_valid_post


def _details(form: DepartmentForm) -> accounts.DepartmentDetails:
    return accounts.DepartmentDetails(code=form.code.data, name=form.name.data,
                                     contact_email=form.contact_email.data or None, is_active=form.is_active.data)


@bp.route("/departments", methods=["GET", "POST"])
@roles(Role.ADMIN)
def departments():
    form = DepartmentForm()
    status = 200
    if form.validate_on_submit():
        try:
            department = accounts.create_department(current_user, _details(form))
        except DomainError as error:
            form.form_errors.append(str(error))
            status = error.status
        else:
            flash(_("Department %(code)s created.", code=department.code), "success")
            return redirect(url_for("admin.department", department_id=department.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/departments.html", rows=accounts.list_departments_with_counts(), form=form), status


def _page(department, form=None, webhook_form=None, key_form=None, shown=None, status=200):
    response = make_response(render_template(
        "admin/department.html", department=department,
        form=form or DepartmentForm(obj=department), webhook_form=webhook_form or WebhookForm(prefix="hook"),
        key_form=key_form or ApiKeyForm(prefix="key"), action_form=FlaskForm(),
        webhooks=accounts.list_webhooks(department.id), keys=accounts.list_keys(department.id), shown=shown,
    ), status)
    if shown:  # a secret on the page: keep it out of every cache
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/departments/<id:department_id>", methods=["GET", "POST"])
@roles(Role.ADMIN)
def department(department_id: int):
    department = accounts.get_department(department_id)
    form = DepartmentForm(obj=department)
    if form.validate_on_submit():
        try:
            accounts.update_department(current_user, department.id, _details(form))
        except DomainError as error:
            form.form_errors.append(str(error))
            return _page(accounts.get_department(department_id), form=form, status=error.status)
        flash(_("Department updated."), "success")
        return redirect(url_for("admin.department", department_id=department.id))
    return _page(department, form=form, status=422 if form.is_submitted() else 200)


@bp.route("/departments/<id:department_id>/webhooks", methods=["POST"])
@roles(Role.ADMIN)
def add_webhook(department_id: int):
    department = accounts.get_department(department_id)
    form = WebhookForm(prefix="hook")  # prefixed: three forms share the page
    if not form.validate_on_submit():
        return _page(department, webhook_form=form, status=422)
    try:
        subscription, secret = accounts.add_webhook(current_user, department.id, form.name.data, form.url.data,
                                           form.events.data or ["*"])
    except DomainError as error:  # raised before anything was written
        form.url.errors = [str(error)]
        return _page(department, webhook_form=form, status=error.status)
    return _page(department, shown={"kind": "webhook", "name": subscription.name, "secret": secret})


@bp.route("/departments/<id:department_id>/webhooks/<id:webhook_id>/active", methods=["POST"])
@roles(Role.ADMIN)
def set_webhook_active(department_id: int, webhook_id: int):
    require_valid_post()
    try:
        accounts.set_webhook_active(current_user, department_id, webhook_id, request.form.get("active") == "1")
    except InvalidInput as refused:  # over the cap, or an address today's rule refuses: say why, on the page
        flash(str(refused), "error")
        return _page(accounts.get_department(department_id), status=refused.status)
    flash(_("Subscription updated."), "success")
    return redirect(url_for("admin.department", department_id=department_id))


@bp.route("/departments/<id:department_id>/keys", methods=["POST"])
@roles(Role.ADMIN)
def create_key(department_id: int):
    department = accounts.get_department(department_id)
    form = ApiKeyForm(prefix="key")
    if not form.validate_on_submit():
        return _page(department, key_form=form, status=422)
    key, token = accounts.create_key(department, form.name.data, actor=current_user)
    return _page(department, shown={"kind": "key", "name": key.name, "secret": token})


@bp.route("/departments/<id:department_id>/keys/<prefix>/revoke", methods=["POST"])
@roles(Role.ADMIN)
def revoke_key(department_id: int, prefix: str):
    require_valid_post()
    key = accounts.revoke_key(prefix[:16], actor=current_user, department_id=department_id)
    flash(_("Key %(prefix)s revoked.", prefix=key.prefix), "success")
    return redirect(url_for("admin.department", department_id=department_id))
