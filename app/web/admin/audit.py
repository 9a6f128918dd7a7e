"""Admin: the audit log, one timeline of admin changes, case events and record events."""
from __future__ import annotations

from flask import Response, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _

from app.errors import InvalidInput
from app.forms.admin_audit import AuditFilterForm
from app.models.enums import Role
from app.services.admin import AuditCursor, AuditFilter, export_audit_csv, parse_object, search_audit
from app.web.access import roles
from app.web.admin import bp


def _filters(form: AuditFilterForm) -> AuditFilter | None:
    """The filters of a valid form; None, with the errors on the form, otherwise."""
    if not form.validate():
        return None
    try:
        ref = parse_object(form.object.data)
    except InvalidInput as error:
        form.object.errors.append(str(error))
        return None
    return AuditFilter(actor=(form.actor.data or "").strip() or None, object=ref, day_from=form.day_from.data,
                       day_to=form.day_to.data, kind=form.kind.data or None)


@bp.route("/audit")
@roles(Role.ADMIN)
def audit():
    """Search the timeline by actor, object, time range and source; newest first, keyset pages."""
    form = AuditFilterForm(request.args)
    filters = _filters(form)
    after = None
    if filters is not None and form.after.data:
        try:
            after = AuditCursor.decode(form.after.data)
        except ValueError:
            form.form_errors.append(_("This page link is not valid any more; start from the first page."))
    if filters is None or form.form_errors:
        return render_template("admin/audit.html", form=form, entries=[], next_url=None, first_url=None,
                               csv_url=None), 422
    entries, next_cursor = search_audit(filters, after)
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_template(
        "admin/audit.html", form=form, entries=entries, csv_url=url_for("admin.audit_csv", **args),
        next_url=url_for("admin.audit", **args, after=next_cursor.encode()) if next_cursor else None,
        first_url=url_for("admin.audit", **args) if after else None,
    )


@bp.route("/audit.csv")
@roles(Role.ADMIN)
def audit_csv():
    """The filtered timeline as CSV, streamed (identity numbers masked)."""
    form = AuditFilterForm(request.args)
    filters = _filters(form)
    if filters is None:
        raise InvalidInput("; ".join(str(e) for errors in form.errors.values() for e in errors))
    return Response(stream_with_context(export_audit_csv(filters)), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})
