"""The case page, shared by every audience: what each user sees and may do is decided per case."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from app import clock
from app.errors import DomainError
from app.extensions import db
from app.forms.cases import ActionForm
from app.forms.validators import choices
from app.labels import REASON_TEMPLATES, label
from app.models import Attachment, Timer, User
from app.models.enums import AttachmentPurpose, Role, TimerStatus
from app.services import cases
from app.services.calendar import get_working_calendar
from app.services.cases import files
from app.web.access import signed_in
from workflows import CASE_WORKFLOWS
from workflows.diagram import svg

bp = Blueprint("cases", __name__, url_prefix="/cases")

PURPOSE_OF_TRIGGER = {
    "supplement": AttachmentPurpose.SUPPLEMENT,
    "reply": AttachmentPurpose.DEPARTMENT_REPLY,
    "give_opinion": AttachmentPurpose.DEPARTMENT_REPLY,
    "respond": AttachmentPurpose.DEPARTMENT_REPLY,
}


def _page(case, form: ActionForm, status: int = 200):
    workflow = CASE_WORKFLOWS[case.kind]
    actors = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({e.actor_id for e in cases.list_events(case) if e.actor_id}))
    )}
    timers = db.session.scalars(
        select(Timer).where(Timer.case_id == case.id, Timer.status != TimerStatus.STOPPED).order_by(Timer.due_at)
    ).all()
    today = clock.today()
    calendar = get_working_calendar()
    deadlines = [
        (t, calendar.working_days_between(today, clock.local(t.due_at).date()) if t.due_at else None)
        for t in timers
    ]
    officers = []
    if current_user.role in (Role.OFFICER, Role.SUPERVISOR):
        officers = db.session.scalars(
            select(User).where(User.role.in_((Role.OFFICER, Role.SUPERVISOR)), User.is_active.is_(True)).order_by(User.display_name)
        ).all()
        form.assignee_id.choices = choices([(u.id, u.display_name) for u in officers])
    form.verification.choices = choices([("", "—")] + [(v, label("verification", v)) for v in cases.VERIFICATION_RESULTS])
    return render_template(
        "cases/case.html",
        case=case,
        form=form,
        events=cases.list_events(case),
        actors=actors,
        deadlines=deadlines,
        attachments=db.session.scalars(select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)).all(),
        actions=cases.available_actions(case, current_user),
        diagram=Markup(svg(workflow, current=case.state, label=lambda kind, name: label(
            "case_state" if kind == "state" else kind, name))),
        officers=officers,
        staff=current_user.role in (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN),
        templates=[(t.trigger, [str(x) for x in REASON_TEMPLATES.get(t.trigger, ())])
                   for t in cases.available_actions(case, current_user) if t.trigger in REASON_TEMPLATES],
    ), status


@bp.route("/<id:case_id>")
@signed_in
def show(case_id: int):
    case = cases.get_case_for(current_user, case_id)
    return _page(case, ActionForm(version=case.version))


@bp.route("/<id:case_id>/act", methods=["POST"])
@signed_in
def act(case_id: int):
    case = cases.get_case_for(current_user, case_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return _page(case, form, 422)
    trigger = form.trigger.data
    uploads = [
        files.Upload(PURPOSE_OF_TRIGGER.get(trigger, AttachmentPurpose.EVIDENCE), f.filename or "", f.read())
        for f in form.files.data or [] if f and f.filename
    ]
    corrections = {
        name: value.strip()
        for name, value in (("facts", form.corrected_facts.data), ("sanction", form.corrected_sanction.data))
        if trigger == "decide_correct" and value and value.strip()
    }
    action = cases.Action(
        trigger=trigger,
        expected_version=form.version.data,
        reason=form.reason.data,
        assignee_id=form.assignee_id.data if trigger in ("assign", "reassign") and form.assignee_id.data else None,
        corrections=corrections,
        uploads=uploads,
        verification=form.verification.data or None if trigger == "reply" else None,
    )
    try:
        cases.transition_case(case.id, action, current_user)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        case = cases.get_case_for(current_user, case_id)
        return _page(case, form, error.status)
    flash(_("Done: %(action)s.", action=label("trigger", trigger)), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/<id:case_id>/files/<id:attachment_id>")
@signed_in
def download(case_id: int, attachment_id: int):
    """Evidence files, only to those who may see the case, never from the web root."""
    case = cases.get_case_for(current_user, case_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.case_id != case.id:
        abort(404)
    path = files.blob_path(attachment.sha256)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename, max_age=0)
