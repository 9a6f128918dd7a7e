"""Pages for everyone: the landing page and the public query."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from app.forms.public import PublicQueryForm
from app.services.records import find_public_records, list_correction_days
from app.web.access import public
from app.web.home import home_endpoint

bp = Blueprint("public", __name__)


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return render_template("public/index.html")


@bp.route("/query", methods=["GET", "POST"])
@public
def query():
    """Records in publicity about one subject, with the "under objection" mark.

    POSTed, so that identity numbers stay out of URLs, browser histories and proxy logs.
    """
    form = PublicQueryForm()
    if not form.is_submitted():
        return render_template("public/query.html", form=form, searched=False)
    if not form.validate():
        return render_template("public/query.html", form=form, searched=False), 422
    subject, records = find_public_records(form.identifier.data)
    return render_template("public/query.html", form=form, searched=True, subject=subject, records=records,
                           corrected_on=list_correction_days(records))
