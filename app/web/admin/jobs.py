"""Admin: scheduled jobs (ask the scheduler to run one now) and the outbox (search, retry one or many)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app.errors import InvalidInput
from app.forms.admin_audit import OutboxFilterForm
from app.labels import label
from app.models.enums import NotificationStatus, Role
from app.services.admin import OutboxFilter, list_outbox, request_job_run, retry_outbox_notices
from app.web.access import roles
from app.web.admin import bp, require_valid_post


@bp.route("/jobs/<name>/run", methods=["POST"])
@roles(Role.ADMIN)
def run_job(name: str):
    """Hand a job to the scheduler to run now; the page then shows it queued, running, its result."""
    require_valid_post()
    request_ = request_job_run(current_user, name)
    title = label("job", name)
    if request_.already:
        flash(_("Job %(name)s is already waiting for the scheduler.", name=title), "success")
    else:
        flash(_("Job %(name)s is queued: the scheduler runs it within a few seconds. Reload this page "
                "to see it running and its result.", name=title), "success")
    return redirect(url_for("admin.home"))


@bp.route("/outbox", methods=["GET", "POST"])
@roles(Role.ADMIN)
def outbox():
    """Every notice, newest first: filter by status, channel, notice and text; retry the ticked ones."""
    return _outbox_page("admin.outbox")


@bp.route("/outbox/dead", methods=["GET", "POST"])
@roles(Role.ADMIN)
def dead_letters():
    """The outbox showing the notices that could not be delivered."""
    return _outbox_page("admin.dead_letters", status=NotificationStatus.DEAD)


def _outbox_page(endpoint: str, status: str | None = None):
    if request.method == "POST":
        return _retry(endpoint)
    args = request.args.copy()
    if status:
        args["status"] = status
    form = OutboxFilterForm(args)
    if not form.validate():
        return render_template("admin/outbox.html", form=form, rows=[], retry_form=FlaskForm(), endpoint=endpoint,
                               next_url=None, first_url=None), 422
    filters = OutboxFilter(status=form.status.data or None, channel=form.channel.data or None,
                           template=form.template.data or None, text=form.q.data or None)
    rows, next_before = list_outbox(filters, form.before.data)
    page_args = {k: v for k, v in request.args.items() if k != "before"}
    return render_template(
        "admin/outbox.html", form=form, rows=rows, retry_form=FlaskForm(), endpoint=endpoint,
        next_url=url_for(endpoint, **page_args, before=next_before) if next_before else None,
        first_url=url_for(endpoint, **page_args) if form.before.data else None,
    )


def _retry(endpoint: str):
    """Retry the ticked notices, then back to the same filtered page."""
    require_valid_post()
    try:
        ids = [int(value) for value in request.form.getlist("id")]
    except ValueError:
        raise InvalidInput(_("Choose the notices to retry.")) from None
    count = retry_outbox_notices(current_user, ids)
    flash(_("%(n)d notice(s) will be sent again.", n=count), "success")
    return redirect(url_for(endpoint, **request.args))
