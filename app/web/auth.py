"""Sign in, sign out, sign up, language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.errors import InvalidInput, TooManyAttempts
from app.forms.auth import NewPasswordForm, SignInForm, SignUpForm
from app.services import accounts
from app.services.admin import DEMO_ACCOUNTS
from app.web.access import public, signed_in
from app.web.home import home_endpoint

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative ``//evil``."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    form = SignInForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.username.data, form.password.data, request.remote_addr)
        except TooManyAttempts as error:
            form.form_errors.append(str(error))
            status = 429
        except InvalidInput as error:
            form.form_errors.append(str(error))
            status = 401
        else:
            session.clear()  # a fresh session at sign-in: no fixation
            login_user(user)
            return redirect(_safe_next(form.next.data) or url_for(home_endpoint(user)))
    elif form.is_submitted():
        status = 422
    demo = DEMO_ACCOUNTS if current_app.config.get("DEMO_MODE") else None
    return render_template("auth/sign_in.html", form=form, demo_accounts=demo), status


@bp.route("/sign-out", methods=["POST"])
@signed_in
def sign_out():
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/sign-up", methods=["GET", "POST"])
@public
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    form = SignUpForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.sign_up_applicant(
                accounts.SignUp(
                    identifier=form.identifier.identifier,
                    subject_name=form.subject_name.data,
                    username=form.username.data,
                    email=form.email.data,
                    display_name=form.display_name.data or "",
                    password=form.password.data,
                )
            )
        except InvalidInput as error:
            form.form_errors.append(str(error))
            status = 422
        else:
            session.clear()
            login_user(user)
            flash(_("Your account is ready."), "success")
            return redirect(url_for(home_endpoint(user)))
    elif form.is_submitted():
        status = 422
    return render_template("auth/sign_up.html", form=form), status


@bp.route("/language/<code>")
@public
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("public.index"))


@bp.route("/password/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    """Set a new password through the single-use link an admin issued."""
    accounts.find_reset(token[:100])  # 404 or 410 before anything is shown
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.complete_reset(token[:100], form.password.data)
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash(_("Your password is set. Please sign in with it, %(name)s.", name=user.username), "success")
        return redirect(url_for("auth.sign_in"))
    if form.is_submitted():
        status = 422
    response = make_response(render_template("auth/reset_password.html", form=form), status)
    response.headers["Cache-Control"] = "no-store"
    return response
