"""Admin: the forecast of what retires and what falls due over the next working days."""
from __future__ import annotations

from app.models.enums import Role
from app.web.access import roles
from app.web.admin import bp
from app.web.forecasts import forecast_page


@bp.route("/forecast", endpoint="forecast")
@bp.route("/forecast.csv", endpoint="forecast_csv")
@roles(Role.ADMIN, Role.SUPERVISOR)
def forecast_view():
    """Per day and per department, for the next 7, 30 or 90 working days; read-only."""
    return forecast_page(None, "admin.forecast_csv", "admin/forecast.html")
