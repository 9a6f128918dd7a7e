"""Subject binding: the account holder sends its documents, officers check them in a queue."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.errors import DomainError
from app.forms.binding import BindingDecisionForm, BindingDocumentsForm, EndBindingForm
from app.models.enums import BindingCapacity, BindingDocumentKind, Role
from app.services import binding as bindings
from app.web.access import roles
from workflows import BINDING, BindingTrigger

bp = Blueprint("binding", __name__)
STAFF = (Role.OFFICER, Role.SUPERVISOR)


@bp.route("/portal/binding", methods=["GET", "POST"])
@roles(Role.APPLICANT)
def mine():
    """Where an account stands: not verified (send the documents), waiting, or verified."""
    binding = bindings.get_current_binding(current_user)
    subject = current_user.subject
    form = BindingDocumentsForm()
    form.capacity.choices = [c for c in form.capacity.choices if (subject.kind, c.value) in bindings.REQUIRED]
    status = 200
    if form.validate_on_submit():
        uploads = [bindings.Upload(kind, f.data.filename or "", f.data.read())
                   for kind in BindingDocumentKind if (f := form[kind.value]).data and f.data.filename]
        try:
            bindings.send_documents(current_user, form.capacity.data, uploads)
        except DomainError as error:
            form.form_errors.append(str(error))
            status = 422
        else:
            flash(_("Your documents were sent. An officer will check them."), "success")
            return redirect(url_for("binding.mine"))
    elif form.is_submitted():
        status = 422
    verified = bindings.is_verified_for(current_user, current_user.subject_id)
    return render_template(
        "binding/mine.html", binding=binding, form=form, verified=verified, subject=subject,
        end_trigger=BindingTrigger.END_BINDING, lead=BindingCapacity.LEGAL_REPRESENTATIVE, agent=BindingCapacity.AGENT,
        others=bindings.list_verified_bindings(current_user.subject_id) if verified else [],
        end_form=EndBindingForm(), history=bindings.list_binding_events(binding) if binding else [],
    ), status


@bp.route("/portal/binding/<id:binding_id>/end", methods=["POST"])
@roles(Role.APPLICANT)
def end_mine(binding_id: int):
    """The account holder gives up its binding, or the legal representative ends an agent's."""
    form = EndBindingForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason."), "error")
        return redirect(url_for("binding.mine"))
    bindings.end_binding(current_user, binding_id, form.reason.data)
    flash(_("The binding has ended."), "success")
    return redirect(url_for("binding.mine"))


@bp.route("/desk/bindings")
@roles(*STAFF)
def queue():
    return render_template("binding/queue.html", bindings=bindings.list_bindings_waiting(), now=clock.now())


@bp.route("/desk/bindings/<id:binding_id>", methods=["GET", "POST"])
@roles(*STAFF)
def show(binding_id: int):
    binding = bindings.get_binding(binding_id)
    form = BindingDecisionForm()
    status = 200
    if form.validate_on_submit():
        try:
            if form.trigger.data == BindingTrigger.END_BINDING:  # its own use case
                bindings.end_binding(current_user, binding_id, form.reason.data or "")
            else:
                bindings.decide_binding(current_user, binding_id, form.trigger.data, form.reason.data,
                                        form.version.data)
        except DomainError as error:
            if error.status == 409:
                raise
            form.form_errors.append(str(error))
            status = 422
        else:
            flash(_("Verification decision recorded."), "success")
            return redirect(url_for("binding.queue"))
    elif form.is_submitted():
        status = 422
    return render_template(
        "binding/show.html", binding=binding, form=form, documents=bindings.list_documents(binding),
        history=bindings.list_binding_events(binding), name_flags=bindings.list_open_name_mismatches_of(binding.subject_id),
        actions=[t for t in BINDING.transitions_from(binding.state) if current_user.role in t.actors],
    ), status


@bp.route("/desk/bindings/<id:binding_id>/documents/<id:document_id>")
@roles(*STAFF)
def document(binding_id: int, document_id: int):
    doc = bindings.get_document(binding_id, document_id)
    return send_file(doc.source, mimetype=doc.content_type, as_attachment=True, download_name=doc.filename, max_age=0,
                     etag=doc.etag)
