"""The JSON API for departments and downstream platforms (/api/v1)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from app.web.access import public

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/")
@public
def index():
    """Says plainly that the API is not built yet, as an RFC 9457 problem document."""
    response = jsonify(
        type="about:blank",
        title="Not Implemented",
        status=501,
        detail="The department API (keys, record push, referrals, webhooks) is not built yet.",
    )
    response.status_code = 501
    response.mimetype = "application/problem+json"
    return response
