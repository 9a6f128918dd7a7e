"""Admin: scheduled jobs and the outbox."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from app.errors import InvalidInput
from app.models.enums import Role
from app.services.admin import list_dead_letters
from app.services.dispatch import retry_notices
from app.web.access import roles
from app.web.admin import bp


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
