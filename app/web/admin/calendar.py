"""Admin: the working-day calendar (months, overrides with a preview, the official schedule)."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app import clock
from app.errors import DomainError, InvalidInput
from app.forms.admin_calendar import (
    OVERRIDE_KINDS,
    MonthQuery,
    OverrideForm,
    ScheduleImportForm,
)
from app.models.enums import Role
from app.services import calendar as calendar_service
from app.web.access import roles
from app.web.admin import bp, require_valid_post


def _page(year: int, month: int, status: int = 200, **forms):
    """The calendar page of a month, with the given forms (fresh ones otherwise)."""
    return render_template(
        "admin/calendar.html", view=calendar_service.calendar_view(year, month), kinds=OVERRIDE_KINDS,
        override_form=forms.get("override_form") or OverrideForm(formdata=None),
        import_form=forms.get("import_form") or ScheduleImportForm(formdata=None),
        action_form=FlaskForm(), preview=forms.get("preview"), import_errors=forms.get("import_errors", []),
    ), status


def _month_of(day: date) -> tuple[int, int]:
    """The month of ``day`` if the calendar covers it, else this month."""
    first, last = calendar_service.calendar_span()
    if first <= day.year <= last:
        return day.year, day.month
    today = clock.today()
    return today.year, today.month


@bp.route("/calendar")
@roles(Role.ADMIN)
def calendar():
    """A month of working days, holidays and make-up working days, and where each comes from."""
    query = MonthQuery(request.args)
    if not query.validate():
        raise InvalidInput(" ".join(str(e) for errors in query.errors.values() for e in errors))
    today = clock.today()
    return _page(query.year.data or today.year, query.month.data or today.month)


@bp.route("/calendar/overrides", methods=["POST"])
@roles(Role.ADMIN)
def add_override():
    """First submit: the preview of the moved deadlines; with ``confirm``: save it."""
    form = OverrideForm()
    today = clock.today()
    if not form.validate_on_submit():
        return _page(today.year, today.month, 422, override_form=form)
    day = form.day.data
    try:
        if form.confirm.data != "1":
            preview = calendar_service.preview_override(day, form.kind.data)
            return _page(day.year, day.month, override_form=form, preview=preview)
        calendar_service.add_override(current_user, day, form.kind.data, form.note.data)
    except DomainError as error:
        form.form_errors.append(str(error))
        return _page(*_month_of(day), error.status, override_form=form)
    flash(_("%(day)s saved as %(kind)s. Deadlines computed from now on use it.",
            day=day.isoformat(), kind=OVERRIDE_KINDS[form.kind.data]), "success")
    return redirect(url_for("admin.calendar", year=day.year, month=day.month))


@bp.route("/calendar/overrides/<id:override_id>/remove", methods=["POST"])
@roles(Role.ADMIN)
def remove_override(override_id: int):
    require_valid_post()
    removed = calendar_service.remove_override(current_user, override_id)
    moved = removed.preview.moved if removed.preview else 0
    flash(_("The override of %(day)s was removed; the day follows the holiday data or the weekend rule again. "
            "%(n)d open deadline(s) would be computed differently now.", day=removed.day.isoformat(), n=moved),
          "success")
    year, month = _month_of(removed.day)
    return redirect(url_for("admin.calendar", year=year, month=month))


@bp.route("/calendar/import", methods=["POST"])
@roles(Role.ADMIN)
def import_schedule():
    """Upload the official annual schedule: imported whole, or refused with every bad line."""
    form = ScheduleImportForm()
    today = clock.today()
    if not form.validate_on_submit():
        return _page(today.year, today.month, 422, import_form=form)
    try:
        report = calendar_service.import_schedule(
            current_user, form.file.data.stream.read(calendar_service.MAX_SCHEDULE_BYTES + 1))
    except DomainError as error:
        return _page(today.year, today.month, error.status, import_form=form, import_errors=[str(error)])
    if report.errors:  # nothing was written
        return _page(today.year, today.month, 422, import_form=form, import_errors=report.errors)
    flash(_("Schedule imported: %(added)d added, %(changed)d changed, %(unchanged)d unchanged. "
            "Deadlines computed from now on use it.",
            added=len(report.added), changed=len(report.changed), unchanged=len(report.unchanged)), "success")
    first = min(report.added + report.changed, default=None)
    if first is None:
        return redirect(url_for("admin.calendar"))
    return redirect(url_for("admin.calendar", year=first.year, month=first.month))
