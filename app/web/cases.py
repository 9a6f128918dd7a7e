"""The case page, shared by every audience: what each user sees and may do is decided per case."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app.errors import DomainError
from app.forms.cases import ActionForm
from app.forms.validators import choices
from app.labels import REASON_TEMPLATES, label
from app.models.enums import AttachmentPurpose, Role
from app.services import cases
from app.web.access import signed_in
from workflows import APPLICANT, CASE_WORKFLOWS, DEPARTMENT, HANDLER
from workflows.diagram import svg

bp = Blueprint("cases", __name__, url_prefix="/cases")

# Files sent with the answer a case waits for are, by whom it waits for, the applicant's
# supplement or the department's (or handler's) reply; any other files are evidence.
PURPOSE_OF_ANSWER = {
    APPLICANT: AttachmentPurpose.SUPPLEMENT,
    DEPARTMENT: AttachmentPurpose.DEPARTMENT_REPLY,
    HANDLER: AttachmentPurpose.DEPARTMENT_REPLY,
}


def _purpose(workflow, steps) -> str:
    answers = [workflow.state(t.source[0]).waits_for for t in steps if t.answers]
    return PURPOSE_OF_ANSWER[answers[0]] if answers else AttachmentPurpose.EVIDENCE


def _page(page: cases.CasePage, form: ActionForm, status: int = 200):
    case = page.case
    workflow = CASE_WORKFLOWS[case.kind]
    form.assignee_id.choices = choices([(u.id, u.display_name) for u in page.officers])
    form.verification.choices = choices([("", "—")] + [(v, label("verification", v)) for v in cases.VERIFICATION_RESULTS])
    return render_template(
        "cases/case.html",
        case=case,
        form=form,
        events=page.events,
        actors=page.actors,
        deadlines=page.deadlines,
        attachments=page.attachments,
        actions=page.actions,
        diagram=Markup(svg(workflow, current=case.state, label=lambda kind, name: label(
            "case_state" if kind == "state" else kind, name))),
        officers=page.officers,
        staff=current_user.role in (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN),
        templates=[(t.trigger, [str(x) for x in REASON_TEMPLATES.get(t.trigger, ())])
                   for t in page.actions if t.trigger in REASON_TEMPLATES],
    ), status


@bp.route("/<id:case_id>")
@signed_in
def show(case_id: int):
    page = cases.get_case_page(current_user, case_id)
    return _page(page, ActionForm(version=page.case.version))


@bp.route("/<id:case_id>/act", methods=["POST"])
@signed_in
def act(case_id: int):
    case = cases.get_case_for(current_user, case_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return _page(cases.get_case_page(current_user, case_id), form, 422)
    trigger = form.trigger.data
    workflow = CASE_WORKFLOWS[case.kind]
    steps = [t for t in workflow.transitions if t.trigger == trigger]  # what the form may carry for it
    uploads = [
        cases.Upload(_purpose(workflow, steps), f.filename or "", f.read())
        for f in form.files.data or [] if f and f.filename
    ]
    corrections = {
        name: value.strip()
        for name, value in (("facts", form.corrected_facts.data), ("sanction", form.corrected_sanction.data))
        if any(t.corrects for t in steps) and value and value.strip()
    }
    action = cases.Action(
        trigger=trigger,
        expected_version=form.version.data,
        reason=form.reason.data,
        assignee_id=form.assignee_id.data if any(t.assigns for t in steps) and form.assignee_id.data else None,
        corrections=corrections,
        uploads=uploads,
        verification=form.verification.data or None if any(t.findings for t in steps) else None,
    )
    try:
        cases.transition_case(case.id, action, current_user)
    except DomainError as error:  # refused and rolled back: the page as it is now
        form.form_errors.append(str(error))
        return _page(cases.get_case_page(current_user, case_id), form, error.status)
    flash(_("Done: %(action)s.", action=label("trigger", trigger)), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/<id:case_id>/files/<id:attachment_id>")
@signed_in
def download(case_id: int, attachment_id: int):
    """Evidence files, only to those who may see the case, never from the web root."""
    file = cases.get_download(current_user, case_id, attachment_id)
    return send_file(file.path, mimetype=file.content_type, as_attachment=True, download_name=file.filename,
                     max_age=0)
