"""Sign in, sign out, sign up, language switch."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.errors import InvalidInput, TooManyAttempts
from app.forms.auth import FinishSignUpForm, NewPasswordForm, SignInForm, SignUpForm
from app.services import accounts, signup
from app.services.admin import DEMO_ACCOUNTS
from app.web.access import public, signed_in
from app.web.home import home_endpoint, safe_next
from app.web.throttle import throttle_sign_up

bp = Blueprint("auth", __name__, url_prefix="/auth")


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
            return redirect(safe_next(form.next.data) or url_for(home_endpoint(user)))
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
@throttle_sign_up
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    if not signup.sign_up_available():
        # No mail service to send the link, and no demo to show it: this site takes no sign-ups
        # (503: the page is there, the service behind it is not; the identity service's sign-in may be).
        return render_template("auth/sign_up_unavailable.html"), 503
    form = SignUpForm()
    status = 200
    if form.validate_on_submit():
        mail = signup.request_sign_up(
            signup.SignUpDetails(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data or "",
                identifier=form.identifier.identifier,
                subject_name=form.subject_name.data,
                locale=str(get_locale()),
            ),
            link_for=lambda token: url_for("auth.finish_sign_up", token=token, _external=True),
            sign_in_link=url_for("auth.sign_in", _external=True),
        )
        # The one answer, whatever the address, the identifier or the name: no oracle (issue 12).
        demo_mail = mail if current_app.config.get("DEMO_MODE") and not mail.by_mail else None
        return render_template("auth/sign_up_sent.html", demo_mail=demo_mail), 200
    if form.is_submitted():
        status = 422
    return render_template("auth/sign_up.html", form=form), status


@bp.route("/sign-up/<token>", methods=["GET", "POST"])
@public
def finish_sign_up(token: str):
    """The link in the sign-up mail: GET shows what it finishes, the button's POST makes the account."""
    pending = signup.find_sign_up(token[:100])  # 404 or 410 before anything is shown
    form = FinishSignUpForm()
    if form.validate_on_submit():
        user = signup.finish_sign_up(token[:100])
        locale = session.get("locale")
        logout_user()
        session.clear()  # a fresh session for the new account: no fixation
        if locale:
            session["locale"] = locale
        login_user(user)
        flash(_("Your account is ready. Send the documents that show you act for this subject."), "success")
        return redirect(url_for("binding.mine"))
    status = 422 if form.is_submitted() else 200
    response = make_response(render_template("auth/sign_up_finish.html", form=form, pending=pending), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


@bp.route("/language/<code>")
@public
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("public.index"))


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
