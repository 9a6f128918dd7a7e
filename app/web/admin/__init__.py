"""The admin console: one blueprint, one module per area (users, departments, policy,
calendar, jobs and notices, audit). Every change an admin makes is audited."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from app.errors import InvalidInput
from app.models.enums import Role
from app.services.admin import job_health, platform_overview, scheduler_alive, scheduler_last_seen
from app.services.calendar import uncovered_years
from app.web.access import roles
from app.web.admin.job_results import describe_result

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@roles(Role.ADMIN)
def home():
    seen = scheduler_last_seen()
    health = job_health()
    return render_template("admin/home.html", overview=platform_overview(), jobs=health,
                           results={job.name: describe_result(job.name, job.last_result) for job in health},
                           calendar_gaps=uncovered_years(), scheduler_seen=seen, scheduler_alive=scheduler_alive(seen))


def require_valid_post() -> None:
    """Refuse a POST whose form does not validate (its CSRF token, chiefly) with a clear 422."""
    if not FlaskForm().validate_on_submit():
        raise InvalidInput(_("The form has expired. Please reload the page."))


# The areas register their views on ``bp``.
from app.web.admin import audit, calendar, departments, forecast, jobs, policy, users  # noqa: E402,F401
