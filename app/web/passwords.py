"""Passwords (issue 13): "Forgot password?", the page a password link opens, "Change password".

A link's token never reaches a log or a Referer. The link opens a page whose form carries the
token in a hidden field and posts it to ``/auth/password/new``, an address without it; the page
replaces its own address in the browser's bar and history with that one
(``static/js/password_link.js``) and is served with ``Referrer-Policy: no-referrer``. The one
request with the token in its path, the link's GET, is logged with the token blanked out
(``app.web.link_tokens``). Opening the link changes nothing; setting the password uses it up.
"""
from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import InvalidInput
from app.forms.auth import ChangePasswordForm, ForgotPasswordForm, NewPasswordForm
from app.services import accounts, recovery
from app.web.access import public, signed_in
from app.web.home import home_endpoint
from app.web.link_tokens import password_link_prefix
from app.web.sessions import current_session_id, sign_out_user
from app.web.throttle import throttle_recovery

bp = Blueprint("password", __name__, url_prefix="/auth/password")


@bp.route("/forgot", methods=["GET", "POST"])
@public
@throttle_recovery
def forgot():
    """Ask for a link by e-mail. The answer is the same whoever is asked for: no oracle. Without
    a mail service the page says to ask an administrator (and a POST is a 503)."""
    if not recovery.recovery_available():
        return render_template("auth/password_forgot.html", form=None), 503 if request.method == "POST" else 200
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        recovery.request_recovery(form.login.data, password_link_prefix(), str(get_locale()))
        return render_template("auth/password_forgot_sent.html"), 200
    return render_template("auth/password_forgot.html", form=form), 422 if form.is_submitted() else 200


def _link_page(form: NewPasswordForm | None, status: int):
    response = make_response(render_template("auth/reset_password.html", form=form), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/<token>")
@public
def open_link(token: str):
    """The link in the mail (or the one an admin handed over): the form, with the token in it."""
    accounts.find_reset(token[:100])  # 404 or 410 before anything is shown
    return _link_page(NewPasswordForm(token=token[:100]), 200)


@bp.route("/new", methods=["GET", "POST"])
@public
@throttle_recovery
def set_new():
    """Set the new password: the link is used up, and every session of the account ends. (A GET
    is the link's page reloaded, its address replaced: the token is not kept, so it says so.)"""
    if request.method == "GET":
        return _link_page(None, 200)
    form = NewPasswordForm()
    accounts.find_reset((form.token.data or "")[:100])  # 404 or 410: unknown, used, voided or expired
    if not form.validate_on_submit():
        return _link_page(form, 422)
    try:
        user = accounts.complete_reset(form.token.data, form.password.data)
    except InvalidInput as refused:  # the account's own names, which the form does not know
        form.password.errors.append(str(refused))
        return _link_page(form, 422)
    sign_out_user()
    flash(_("Your password is set. Please sign in with it, %(name)s.", name=user.username), "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/change", methods=["GET", "POST"])
@signed_in
@throttle_recovery
def change():
    """A signed-in user sets a new password with the current one; its other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user.id, form.current.data, form.password.data,
                                     keep_session_id=current_session_id())
        except InvalidInput as refused:
            form.form_errors.append(str(refused))
        else:
            flash(_("Your password is changed. Your other sessions have ended."), "success")
            return redirect(url_for(home_endpoint(current_user)))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/change_password.html", form=form), status
