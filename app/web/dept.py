"""The department inbox: referrals, notices and the department's own records."""
from __future__ import annotations

from base64 import b64encode
from pathlib import Path

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.errors import DomainError
from app.forms.dept import ImportForm, RecordCorrectionForm, RecordForm, RecordRevocationForm
from app.models.enums import Role
from app.services.cases import list_cases_waiting_for_department
from app.services.notices import inbox_entries
from app.services.records import (
    NewRecord,
    allowed_values,
    correct_department_record,
    count_records_by_state,
    enter_record,
    get_department_record_page,
    get_import_run,
    get_retired_page,
    import_run_errors_csv,
    iter_retired_csv,
    list_correction_days,
    list_import_runs,
    list_records_of_department,
    retired_csv_name,
    revoke_department_record,
    submit_import,
    template_csv,
)
from app.web.access import roles
from app.web.forecasts import forecast_page

bp = Blueprint("dept", __name__, url_prefix="/dept")


@bp.route("/")
@roles(Role.DEPARTMENT)
def home():
    department = current_user.department
    return render_template(
        "dept/home.html",
        department=department,
        referrals=list_cases_waiting_for_department(department.id, limit=50),
        now=clock.now(),
        counts=count_records_by_state(department.id),
        records=list_records_of_department(department.id, limit=50),
        notices=inbox_entries(current_user, str(get_locale()), limit=20),
    )


@bp.route("/referrals")
@roles(Role.DEPARTMENT)
def referrals():
    department = current_user.department
    waiting = list_cases_waiting_for_department(department.id)
    return render_template("dept/referrals.html", department=department, referrals=waiting, now=clock.now())


@bp.route("/records/new", methods=["GET", "POST"])
@roles(Role.DEPARTMENT)
def new_record():
    """One record entered by hand, validated like every other input path."""
    form = RecordForm()
    status = 200
    if form.validate_on_submit():
        entry = NewRecord(
            identifier=form.identifier.identifier, subject_name=form.subject_name.data,
            category=form.category.data, severity=form.severity.data,
            decision_number=form.decision_number.data, decision_date=form.decision_date.data,
            facts=form.facts.data, sanction=form.sanction.data, sanction_kinds=tuple(form.sanction_kinds.data or ()),
            sector=form.sector.data or None, publish_minor=form.publish_minor.data,
            measure_until=form.measure_until.data,
        )
        try:
            record = enter_record(current_user.department, entry, current_user)
        except DomainError as error:
            form.form_errors.append(str(error))
            status = 422
        else:
            flash(_("Record %(number)s entered; publicity ends on %(end)s.",
                    number=record.decision_number, end=record.publicity_end.isoformat()), "success")
            return redirect(url_for("dept.home"))
    elif form.is_submitted():
        status = 422
    return render_template("dept/new_record.html", form=form), status


@bp.route("/records/import", methods=["GET", "POST"])
@roles(Role.DEPARTMENT)
def import_records_page():
    """Upload a CSV or XLSX file: imported whole, or refused with a report per row. A small file
    is checked and imported here; a large one is queued for the scheduler and its page follows it."""
    form = ImportForm()
    report, status = None, 200
    if form.validate_on_submit():
        upload = form.file.data
        suffix = Path(upload.filename or "").suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            form.form_errors.append(_("Upload a .csv or .xlsx file."))
            status = 422
        else:
            try:
                submission = submit_import(upload.stream, upload.filename, current_user.department, current_user,
                                           str(get_locale()))
            except DomainError as error:
                form.form_errors.append(str(error))
                return _import_page(form, None, error.status)
            if submission.run is not None:
                flash(_("The file is large: it is imported in the background. This page shows how far it is."),
                      "success")
                return redirect(url_for("dept.import_run", run_id=submission.run.id), 303)
            report = submission.report
            if report.ok:
                flash(_("%(n)d records imported.", n=report.imported), "success")
                if report.corrected:
                    flash(_("%(n)d records corrected: their new versions are published.", n=report.corrected),
                          "success")
                return redirect(url_for("dept.home"))
            status = 422  # nothing was imported
            if form.report.data and request.headers.get("X-Requested-With") == "XMLHttpRequest":
                # The upload script saves it. A browser without script would show its own error
                # page for a file sent with a 422: it gets the page, which links the same file.
                return Response(report.as_csv(), status=422, mimetype="text/csv",
                                headers={"Content-Disposition": "attachment; filename=import-errors.csv"})
    elif form.is_submitted():
        status = 422
    return _import_page(form, report, status)


def _import_page(form: ImportForm, report, status: int):
    """The form, and a refused file's report: its problems as a table and as a CSV to save, the
    file in the link itself (at most IMPORT_MAX_ERRORS rows: nothing kept on the server)."""
    report_csv = None
    if report is not None and not report.ok:
        report_csv = "data:text/csv;charset=utf-8;base64," + b64encode(report.as_csv().encode()).decode()
    return render_template("dept/import.html", form=form, report=report, report_csv=report_csv,
                           allowed=allowed_values(), runs=list_import_runs(current_user.department_id)), status


@bp.route("/forecast", endpoint="forecast")
@bp.route("/forecast.csv", endpoint="forecast_csv")
@roles(Role.DEPARTMENT)
def forecast_view():
    """The department's own slice: its records that retire, the deadlines of its own steps."""
    return forecast_page(current_user.department_id, "dept.forecast_csv", "dept/forecast.html")


@bp.route("/records/import/template.csv")
@roles(Role.DEPARTMENT)
def import_template():
    """The empty file to fill in, with the headings in the reader's language."""
    return Response(template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=records-template.csv"})


@bp.route("/imports/<id:run_id>")
@roles(Role.DEPARTMENT)
def import_run(run_id: int):
    """A background import: its progress while it runs (the page refreshes itself), then its
    outcome and report; 404 for another department's."""
    return render_template("dept/import_run.html", run=get_import_run(current_user.department_id, run_id))


@bp.route("/imports/<id:run_id>/errors.csv")
@roles(Role.DEPARTMENT)
def import_run_errors(run_id: int):
    return Response(import_run_errors_csv(current_user.department_id, run_id), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=import-{run_id}-errors.csv"})


def _record_page(record_id: int, correction: RecordCorrectionForm | None = None,
                 revocation: RecordRevocationForm | None = None, status: int = 200):
    page = get_department_record_page(current_user.department_id, record_id)
    record = page.record
    correction = correction or RecordCorrectionForm(
        version=record.version, facts=record.facts, sanction=record.sanction,
        sanction_kinds=list(record.sanction_kinds or ()), severity=record.severity, decision_date=record.decision_date)
    revocation = revocation or RecordRevocationForm(version=record.version)
    return render_template("dept/record.html", record=record, events=page.events, actors=page.actors,
                           corrected_on=list_correction_days([record]), correction=correction,
                           revocation=revocation), status


def _version(field) -> int | None:
    return int(field.data) if (field.data or "").isdigit() else None


@bp.route("/records/<id:record_id>")
@roles(Role.DEPARTMENT)
def record(record_id: int):
    """One of the department's records: its content now and every version, who, when and why."""
    return _record_page(record_id)


@bp.route("/records/<id:record_id>/correct", methods=["POST"])
@roles(Role.DEPARTMENT)
def correct_record(record_id: int):
    form = RecordCorrectionForm()
    if not form.validate_on_submit():
        return _record_page(record_id, correction=form, status=422)
    corrections = {"facts": form.facts.data, "sanction": form.sanction.data,
                   "sanction_kinds": list(form.sanction_kinds.data or ()), "severity": form.severity.data,
                   "decision_date": form.decision_date.data}
    try:
        correct_department_record(current_user, record_id, _version(form.version), corrections, form.reason.data)
    except DomainError as error:
        form.form_errors.append(str(error))
        return _record_page(record_id, correction=form, status=error.status)
    flash(_("The record was corrected: the new version is published."), "success")
    return redirect(url_for("dept.record", record_id=record_id))


@bp.route("/records/<id:record_id>/revoke", methods=["POST"])
@roles(Role.DEPARTMENT)
def revoke_record(record_id: int):
    form = RecordRevocationForm()
    if not form.validate_on_submit():
        return _record_page(record_id, revocation=form, status=422)
    try:
        revoke_department_record(current_user, record_id, _version(form.version), form.reason.data)
    except DomainError as error:
        form.form_errors.append(str(error))
        return _record_page(record_id, revocation=form, status=error.status)
    flash(_("The record was revoked and withdrawn from publicity."), "success")
    return redirect(url_for("dept.record", record_id=record_id))


@bp.route("/retired/<id:run_id>")
@roles(Role.DEPARTMENT)
def retired(run_id: int):
    """The records one run of the expiry job retired for this department (its digest's link),
    100 a page; 404 when the run retired none of ours."""
    after = request.args.get("after", "0")
    if not after.isdigit() or int(after) > 2**31 - 1:
        abort(400)
    page = get_retired_page(current_user.department_id, run_id, after=int(after))
    return render_template("dept/retired.html", page=page, run_id=run_id)


@bp.route("/retired/<id:run_id>.csv")
@roles(Role.DEPARTMENT)
def retired_csv(run_id: int):
    """The same list whole, as CSV, streamed."""
    get_retired_page(current_user.department_id, run_id, limit=1)  # 404 unless the run retired ours
    return Response(stream_with_context(iter_retired_csv(current_user.department_id, run_id)), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={retired_csv_name(run_id)}"})
