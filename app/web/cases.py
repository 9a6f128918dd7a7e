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
        # A move into a done state (a decision, a withdrawal, a close) cannot be taken back: asked twice.
        final={t.trigger for t in page.actions if workflow.state(t.dest).done},
        refused=page.refused,
        diagram=Markup(svg(workflow, current=case.state, label=lambda kind, name: label(
            "case_state" if kind == "state" else kind, name))),
        officers=page.officers,
        staff=current_user.role in (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN),
        templates=[(t.trigger, [str(x) for x in REASON_TEMPLATES[case.kind, t.trigger]])
                   for t in page.actions if (case.kind, t.trigger) in REASON_TEMPLATES],
        proposed=[str(x) for x in page.proposed_grounds],
        about_case=page.about_case,
    ), status


def _corrections(form: ActionForm) -> dict:
    """The corrected fields the form carries; the service keeps those that change the record.
    The kinds are a set of checkboxes: none ticked means none only where the form showed them."""
    given = {"facts": (form.corrected_facts.data or "").strip(), "sanction": (form.corrected_sanction.data or "").strip(),
             "severity": form.corrected_severity.data or "", "decision_date": form.corrected_decision_date.data}
    if form.corrections_shown.data:
        given["sanction_kinds"] = list(form.corrected_sanction_kinds.data or ())
    return {name: value for name, value in given.items() if value or name == "sanction_kinds"}


@bp.route("/<id:case_id>")
@signed_in
def show(case_id: int):
    page = cases.get_case_page(current_user, case_id)
    shown = page.corrections or {}
    return _page(page, ActionForm(
        version=page.case.version, corrected_facts=shown.get("facts"), corrected_sanction=shown.get("sanction"),
        corrected_sanction_kinds=shown.get("sanction_kinds"), corrected_severity=shown.get("severity"),
        corrected_decision_date=shown.get("decision_date"),
    ))


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
    corrections = _corrections(form) if any(t.corrects for t in steps) else {}
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
    return send_file(file.source, mimetype=file.content_type, as_attachment=True, download_name=file.filename,
                     max_age=0, etag=file.etag)
