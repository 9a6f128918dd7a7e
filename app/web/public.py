"""Pages for everyone: the landing page and the public query."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from app.web.access import public
from app.web.home import home_endpoint, render_not_built

bp = Blueprint("public", __name__)


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return render_template("public/index.html")


@bp.route("/query")
@public
def query():
    return render_not_built("public_query")
