"""Pages for everyone: the landing page and the public query."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import csv_export
from app.errors import InvalidInput
from app.forms.public import PublicQueryForm
from app.services.records import list_correction_days, query_public_records
from app.services.statistics import CASE_FIELDS, DEADLINE_FIELDS, SCHEMA, published_report
from app.web.access import public
from app.web.charts import paired_columns
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


@bp.route("/statistics")
@public
def statistics():
    """How objections, repairs and complaints are handled, per month and department: counts
    only, small cells suppressed (``services.statistics``); the month's departments on ?month=."""
    report = published_report()
    month = request.args.get("month") or report.months[-1]
    if month not in report.months:
        raise InvalidInput(_("Choose one of the months listed."))
    totals = [row for row in report.cases if row["scope"] == "all"]
    chart = paired_columns([(row["month"], True, row["objections_received"] or 0,
                          sum(row[f] or 0 for f in row if f.startswith("objections_decided_"))) for row in totals],
                        _("Objections received and decided, per month"),
                        (_("Objections received"), _("Objections decided")))
    return render_template("public/statistics.html", report=report, month=month, totals=totals, chart=chart,
                           departments=[r for r in report.cases if r["month"] == month and r["scope"] != "all"],
                           deadlines=[r for r in report.deadlines if r["month"] == month])


@bp.route("/statistics/<any(cases, deadlines):table>.csv")
@public
def statistics_csv(table: str):
    """One table of the statistics as CSV, in the documented schema (docs/statistics.md)."""
    report = published_report()
    fields, rows = (CASE_FIELDS, report.cases) if table == "cases" else (DEADLINE_FIELDS, report.deadlines)
    body = csv_export.text(fields, ([_cell(row[f]) for f in fields] for row in rows))
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=statistics-{table}.csv"})


@bp.route("/statistics.json")
@public
def statistics_json():
    """Both tables and what they mean, for open-data portals (docs/statistics.md)."""
    report = published_report()
    return jsonify({"schema": SCHEMA, "generated_at": report.generated_at.isoformat(timespec="seconds"),
                    "suppressed_below": report.threshold, "months": report.months,
                    "cases": report.cases, "deadlines": report.deadlines})


def _cell(value):
    """A suppressed cell is empty in the CSV (``null`` in the JSON)."""
    return "" if value is None else value
