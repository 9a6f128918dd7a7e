"""Looking ahead: what the expiry job and the SLA sweep will do over the next working days
(``outlook``), read-only and set-based, for the admin and supervisors' page, a department's
slice and ``flask forecast``."""
from app.services.forecast.outlook import (
    HORIZONS,
    MAX_HORIZON,
    Figures,
    Forecast,
    Row,
    forecast,
    forecast_csv,
    step_medians,
)

__all__ = ["HORIZONS", "MAX_HORIZON", "Figures", "Forecast", "Row", "forecast", "forecast_csv", "step_medians"]
