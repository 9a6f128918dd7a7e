"""Pages for everyone: the landing page and the public query."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from app.forms.public import PublicQueryForm
from app.services.records import list_correction_days, query_public_records
from app.web.access import public
from app.web.home import home_endpoint
from app.web.throttle import throttle_public_query

bp = Blueprint("public", __name__)


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return render_template("public/index.html")


@bp.route("/query", methods=["GET", "POST"])
@public
@throttle_public_query
def query():
    """Records in publicity about one subject, with the "under objection" mark: a company by its
    code or exact name, a person by name and identity number together (issue 12).

    POSTed, so that identity numbers stay out of URLs, browser histories and proxy logs.
    """
    form = PublicQueryForm()
    if not form.is_submitted():
        return render_template("public/query.html", form=form, answer=None)
    if not form.validate():
        return render_template("public/query.html", form=form, answer=None), 422
    answer = query_public_records(form.identifier.data, form.person_name.data)
    return render_template("public/query.html", form=form, answer=answer,
                           corrected_on=list_correction_days(answer.records))
