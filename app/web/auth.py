"""Sign in, sign out, sign up, language switch, and the user's own sessions ("sign out everywhere")."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import InvalidInput, TooManyAttempts
from app.forms.auth import FinishSignUpForm, SignInForm, SignUpForm
from app.services import accounts, signup
from app.services.admin import DEMO_ACCOUNTS
from app.web.access import public, signed_in
from app.web.home import home_endpoint, safe_next
from app.web.link_tokens import public_url
from app.web.sessions import (
    current_session_id,
    device_for,
    remember_device,
    sign_in_user,
    sign_out_user,
)
from app.web.throttle import throttle_sign_in, throttle_sign_up
from app.web.two_factor import after_password

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@throttle_sign_in
def sign_in():
    """The password sign-in. Failures slow the next attempt for the name down (429 with
    Retry-After while it waits); the address's POSTs are limited generously (Flask-Limiter)."""
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    form = SignInForm(next=request.args.get("next", ""))
    status, headers = 200, {}
    if form.validate_on_submit():
        device = device_for(form.username.data)
        try:
            user = accounts.authenticate(form.username.data, form.password.data, request.remote_addr, device)
        except TooManyAttempts as error:
            form.form_errors.append(str(error))
            status = 429
            if error.retry_after:
                headers["Retry-After"] = str(error.retry_after)
        except InvalidInput as error:
            form.form_errors.append(str(error))
            status = 401
        else:
            next_url = safe_next(form.next.data) or url_for(home_endpoint(user))
            # Staff with a second factor (or required to have one) are asked for it first.
            response = after_password(user, next_url)
            if response is None:
                sign_in_user(user)
                response = redirect(next_url)
            # The right password: this browser is now a known device for the name (the back-off).
            return remember_device(response, form.username.data, device)
    elif form.is_submitted():
        status = 422
    demo = DEMO_ACCOUNTS if current_app.config.get("DEMO_MODE") else None
    return render_template("auth/sign_in.html", form=form, demo_accounts=demo), status, headers


@bp.route("/sign-out", methods=["POST"])
@signed_in
def sign_out():
    """End this session on the server: a copy of the cookie opens nothing after."""
    sign_out_user()
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
            link_for=lambda token: public_url("auth.finish_sign_up", token=token),
            sign_in_link=public_url("auth.sign_in"),
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
        sign_in_user(user)  # a fresh session for the new account: no fixation
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


@bp.route("/sessions")
@signed_in
def sessions():
    """The user's live sessions: when each started and was last seen, from which network, in
    which browser; any of them (or all) can be ended here."""
    return render_template("auth/sessions.html", sessions=accounts.list_live_sessions(current_user.id),
                           current_id=current_session_id())


@bp.route("/sessions/<id:session_id>/end", methods=["POST"])
@signed_in
def end_session(session_id: int):
    accounts.end_own_session(current_user, session_id)
    if session_id == current_session_id():
        sign_out_user()
        flash(_("You have signed out."), "info")
        return redirect(url_for("auth.sign_in"))
    flash(_("That session has ended."), "success")
    return redirect(url_for("auth.sessions"))


@bp.route("/sessions/end-all", methods=["POST"])
@signed_in
def end_all_sessions():
    """Sign out everywhere: every other session, or this one too (``keep_current`` not set)."""
    if request.form.get("keep_current") == "1":
        count = accounts.end_own_sessions(current_user, except_session_id=current_session_id())
        flash(_("%(count)d other sessions have ended.", count=count), "success")
        return redirect(url_for("auth.sessions"))
    accounts.end_own_sessions(current_user)
    sign_out_user()
    flash(_("You have signed out everywhere."), "info")
    return redirect(url_for("auth.sign_in"))
