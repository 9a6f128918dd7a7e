"""The forecast pages (the platform's for admins and supervisors, a department's slice): shared by both blueprints."""
from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.services.forecast import HORIZONS, forecast, forecast_csv
from app.web.charts import paired_columns


def horizon() -> int:
    """The working days asked for (``?days=``): one of the page's choices."""
    try:
        days = int(request.args.get("days", HORIZONS[1]))
    except ValueError:
        days = 0
    if days not in HORIZONS:
        raise InvalidInput(_("Choose 7, 30 or 90 working days."))
    return days


def forecast_page(department_id: int | None, csv_endpoint: str, template: str, **context):
    """The page (or, for ``csv_endpoint``, its download) for the whole platform or one department."""
    days = horizon()
    ahead = forecast(days, department_id)
    if request.endpoint == csv_endpoint:
        return Response(forecast_csv(ahead), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=forecast-{ahead.today}-{days}wd.csv"})
    totals = ahead.totals()
    chart = paired_columns([(d.strftime("%m-%d"), working, f.retiring, f.falling_due) for d, working, f in totals],
                        _("Records retiring and deadlines falling due, per day"),
                        (_("Records retiring"), _("Deadlines falling due")))
    parties: dict = {}
    for row in ahead.rows:
        key = (row.party, row.department_id)
        entry = parties.setdefault(key, {"party": row.party, "department": row.department, "retiring": 0,
                                         "falling_due": 0, "at_risk": 0, "due_soon": 0})
        for name in ("retiring", "falling_due", "at_risk", "due_soon"):
            entry[name] += getattr(row.figures, name)
    return render_template(template, ahead=ahead, totals=totals, chart=chart, horizons=HORIZONS, days=days,
                           parties=sorted(parties.values(), key=lambda p: (p["party"], p["department"] or "")),
                           overdue=sum(ahead.overdue.values()), csv_endpoint=csv_endpoint, **context)
