"""The subject portal: my records, my cases, applications."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError
from app.forms.cases import ApplicationForm, ComplaintForm, RepairForm
from app.forms.validators import choices
from app.models import CreditRecord
from app.models.enums import AttachmentPurpose, CaseKind, Role
from app.services.accounts import list_departments
from app.services.binding import is_verified_for
from app.services.cases import (
    AlreadySubmitted,
    OpenCaseExists,
    RepeatComplaint,
    Submission,
    Upload,
    find_open_case,
    list_cases_of_subject,
    reason_text,
    repair_eligibility,
    submit_case,
)
from app.services.notices import inbox_entries
from app.services.records import find_record_of_subject, list_records_of_subject
from app.web.access import roles

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.before_request
def _verified_accounts_only():
    """Until an account is verified for its subject it sees only what the public sees and files
    nothing: every portal page sends it to its verification instead. Asked on each request, so
    an ended binding ends access at once."""
    if current_user.is_authenticated and current_user.role == Role.APPLICANT and (
            not is_verified_for(current_user, current_user.subject_id)):
        return redirect(url_for("binding.mine"))
    return None


@bp.route("/")
@roles(Role.APPLICANT)
def home():
    subject = current_user.subject
    return render_template(
        "portal/home.html",
        subject=subject,
        records=list_records_of_subject(subject.id),
        cases=list_cases_of_subject(subject.id),
        notices=inbox_entries(current_user, str(get_locale()), limit=10),
    )


def _own_record(record_id: int) -> CreditRecord:
    record = find_record_of_subject(current_user.subject_id, record_id)
    if record is None:
        abort(404)  # another subject's record is as good as absent
    return record


def _uploads(field, purpose: str) -> list[Upload]:
    return [Upload(purpose, f.filename or "", f.read()) for f in field.data or [] if f and f.filename]


def _submit(form, kind: str, record: CreditRecord | None, uploads: list[Upload], **extra):
    try:
        case = submit_case(current_user, Submission(
            kind=kind, title=form.title.data, statement=form.statement.data,
            record_id=record.id if record else None, uploads=uploads, form_token=form.form_token.data or None,
            **extra,
        ))
    except AlreadySubmitted as first:  # the same form again: show what its first POST filed
        flash(str(first), "success")
        return redirect(url_for("cases.show", case_id=first.case.id))
    except (OpenCaseExists, RepeatComplaint) as error:  # the page points to the case that stands
        form.form_errors.append(str(error))
        form.existing_case = (error.case_id, error.number)
        form.needs_confirmation = isinstance(error, RepeatComplaint)
        return None
    except DomainError as error:
        form.form_errors.append(str(error))
        return None
    flash(_("Your application %(number)s has been submitted.", number=case.number), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/records/<id:record_id>/objection", methods=["GET", "POST"])
@roles(Role.APPLICANT)
def new_objection(record_id: int):
    record = _own_record(record_id)
    form = ApplicationForm()
    status = 200
    if form.validate_on_submit():
        done = _submit(form, CaseKind.OBJECTION, record, _uploads(form.evidence, AttachmentPurpose.EVIDENCE))
        if done:
            return done
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("portal/apply.html", form=form, record=record, kind=CaseKind.OBJECTION,
                           open_case=find_open_case(current_user.subject_id, record.id, CaseKind.OBJECTION)), status


@bp.route("/records/<id:record_id>/repair", methods=["GET", "POST"])
@roles(Role.APPLICANT)
def new_repair(record_id: int):
    """The eligibility check is shown before anything is filled in, with each reason."""
    record = _own_record(record_id)
    form = RepairForm()
    blocking = repair_eligibility(record, {AttachmentPurpose.OBLIGATION_PROOF, AttachmentPurpose.CREDIT_COMMITMENT})
    status = 200
    if form.validate_on_submit():
        uploads = (
            _uploads(form.obligation_proof, AttachmentPurpose.OBLIGATION_PROOF)
            + _uploads(form.commitment, AttachmentPurpose.CREDIT_COMMITMENT)
            + _uploads(form.evidence, AttachmentPurpose.EVIDENCE)
        )
        done = _submit(form, CaseKind.REPAIR, record, uploads)
        if done:
            return done
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template(
        "portal/apply.html", form=form, record=record, kind=CaseKind.REPAIR,
        blocking=[reason_text(p) for p in blocking],
        open_case=find_open_case(current_user.subject_id, record.id, CaseKind.REPAIR),
    ), status


@bp.route("/complaints/new", methods=["GET", "POST"])
@roles(Role.APPLICANT)
def new_complaint():
    form = ComplaintForm()
    records = list_records_of_subject(current_user.subject_id)
    departments = list_departments()  # the active ones
    form.record_id.choices = choices([(0, "—")] + [(r.id, f"{r.decision_number}（{r.department.name}）") for r in records])
    form.department_id.choices = choices([(0, "—")] + [(d.id, d.name) for d in departments])
    own_cases = list_cases_of_subject(current_user.subject_id)
    form.about_case_id.choices = choices([(0, "—")] + [(c.id, f"{c.number} {c.title}") for c in own_cases])
    status = 200
    if form.validate_on_submit():
        record = _own_record(form.record_id.data) if form.record_id.data else None
        department_id = form.department_id.data or None
        about_case_id = form.about_case_id.data or None
        if department_id and not any(d.id == department_id for d in departments):
            abort(404)
        if record is None and department_id is None and about_case_id is None:
            form.form_errors.append(_("Choose the record, the department or the case the complaint is about."))
            status = 422
        else:
            done = _submit(form, CaseKind.COMPLAINT, record, _uploads(form.evidence, AttachmentPurpose.EVIDENCE),
                           department_id=department_id if record is None else None,
                           about_case_id=about_case_id, confirmed=bool(form.submit_anyway.data))
            if done:
                return done
            status = 422
    elif form.is_submitted():
        status = 422
    return render_template("portal/apply.html", form=form, record=None, kind=CaseKind.COMPLAINT), status
