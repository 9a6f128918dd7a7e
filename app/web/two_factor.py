"""Two factors for staff (issue 13): the code after the password, enrolment by QR code, recovery
codes, an admin's reset, and the gate that keeps staff without a second factor out when it is
required.

A shared module of the web layer (like ``sessions``), so that the sign-in views can call it:
``after_password(user, next_url)`` after the right password (``auth.sign_in``), and
``after_identity_provider(user, claims, next_url)`` after the identity service (``oidc.callback``).
Between the first factor and the code the cookie holds only the pending challenge's id and
token (``two_factor_pending``): nobody is signed in, and the server counts the wrong codes and
expires the wait. The code page signs in with ``sign_in_user(user, strength=...)``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import Conflict, DomainError, Gone, InvalidInput, TooManyAttempts
from app.forms.two_factor import AuthenticatorCodeForm, CodeForm, ResetForm
from app.models.enums import Role
from app.models.two_factor import ChallengePurpose
from app.services import accounts
from app.web.access import public, roles
from app.web.home import home_endpoint, safe_next
from app.web.sessions import current_session_strength, sign_in_user, sign_out_user

bp = Blueprint("two_factor", __name__)

_PENDING = "two_factor_pending"
# Open to a staff session that still needs its second factor: its code or enrolment, leaving,
# and the language.
_GATE_EXEMPT = {"two_factor.code", "two_factor.enrol", "auth.sign_out", "auth.set_language", "static"}


# --- called by the sign-in views ---------------------------------------------------------------

def after_password(user, next_url: str | None):
    """After a first factor: the redirect to the code page (enrolled), to enrolment (staff,
    required, not enrolled), or None when no second factor is asked (the caller signs in)."""
    try:
        pending = accounts.begin_second_factor(user)
    except TooManyAttempts as error:  # rounds of wrong codes before: wait (the password stays right)
        page = render_template("auth/two_factor_code.html", form=None, user=None, ended=str(error))
        return make_response(page, 429, {"Retry-After": str(error.retry_after or 60)})
    if pending is None:
        return None
    locale = session.get("locale")
    session.clear()  # whatever the browser had: no fixation, and no half-signed-in state
    if locale:
        session["locale"] = locale
    session[_PENDING] = {"id": pending.challenge_id, "token": pending.token, "next": safe_next(next_url) or ""}
    return redirect(url_for("two_factor.code" if pending.purpose == ChallengePurpose.CODE else "two_factor.enrol"))


def identity_strength(claims: Mapping[str, Any]) -> str:
    """The identity service's word for how the person signed in there: several factors when the
    ID token's ``amr`` (RFC 8176) holds one of ``OIDC_MFA_AMR`` ("mfa", "otp", "hwk", ...)."""
    amr = claims.get("amr")
    values = [amr] if isinstance(amr, str) else amr if isinstance(amr, list) else []
    accepted = set(current_app.config["OIDC_MFA_AMR"])
    if any(isinstance(value, str) and value in accepted for value in values):
        return accounts.Strength.OIDC_MFA
    return accounts.Strength.OIDC


def after_identity_provider(user, claims: Mapping[str, Any], next_url: str | None):
    """After the identity service: applicants are signed in with its strength; staff too when it
    says several factors, else they are asked for their code (or enrolment) as after a password."""
    strength = identity_strength(claims)
    if accounts.is_staff(user) and strength not in accounts.STRONG:
        response = after_password(user, next_url)
        if response is not None:
            return response
    sign_in_user(user, strength=strength)
    return redirect(safe_next(next_url) or url_for(home_endpoint(user)))


@bp.before_app_request
def second_factor_first():
    """While it is required, a staff session opened without a second factor (before it was
    required, or by a path that skipped it) reaches no page: it is ended and the code, or
    enrolment, is asked, then the page."""
    if (request.endpoint is None or request.endpoint in _GATE_EXEMPT or request.blueprint == "api"
            or not current_app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"]):
        return None
    user = current_user._get_current_object()  # one look-up of the proxy (issue 16)
    if not user.is_authenticated or not accounts.is_staff(user):
        return None
    if current_session_strength() in accounts.STRONG:
        return None
    sign_out_user()
    return after_password(user, request.full_path.rstrip("?") if request.method == "GET" else None)


@bp.app_context_processor
def _requirement():
    return {"two_factor_required": current_app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"]}


# --- the pages --------------------------------------------------------------------------------

def _pending() -> dict | None:
    marker = session.get(_PENDING)
    if not isinstance(marker, dict) or not isinstance(marker.get("id"), int) or not isinstance(marker.get("token"), str):
        return None
    return marker


def _start_again(message: str | None = None):
    session.pop(_PENDING, None)
    flash(message or _("This sign-in has expired. Please sign in again."), "error")
    return redirect(url_for("auth.sign_in"))


def _private(response):
    """The secret, the codes: kept by no cache, and no Referer leaves with the page."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/auth/two-factor/code", methods=["GET", "POST"])
@public
def code():
    """The second step of a sign-in: the authenticator's code, or a recovery code."""
    marker = _pending()
    if marker is None:
        return _start_again()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            verified = accounts.verify_second_factor(marker["id"], marker["token"], form.code.data)
        except TooManyAttempts as error:
            session.pop(_PENDING, None)
            return _private(render_template("auth/two_factor_code.html", form=None, user=None, ended=str(error))), 429
        except Gone as error:
            return _start_again(str(error))
        except InvalidInput as error:
            form.form_errors.append(str(error))
            form.code.data = ""  # a wrong code is not shown again: the next one is typed afresh
            status = 422
        else:
            sign_in_user(verified.user, strength=verified.strength)
            if verified.recovery_codes_left is not None:
                flash(_("You signed in with a recovery code; %(left)d are left. Set up new ones on the two-step "
                        "sign-in page if you are running out.", left=verified.recovery_codes_left), "warning")
            return redirect(safe_next(marker.get("next")) or url_for(home_endpoint(verified.user)))
    elif form.is_submitted():
        status = 422
    try:  # whose sign-in it is, while it still waits (a new try is counted by the POST above only)
        user = accounts.pending_user(marker["id"], marker["token"], ChallengePurpose.CODE)
    except Gone as error:
        return _start_again(str(error))
    return _private(render_template("auth/two_factor_code.html", form=form, user=user, ended=None)), status


@bp.route("/auth/two-factor/enrol", methods=["GET", "POST"])
@public
def enrol():
    """Set up the authenticator: its QR code and secret, then its first code. A signed-in staff
    member enrols here of its own accord; at sign-in, a required second factor sends here."""
    marker = None
    if current_user.is_authenticated:
        if not accounts.is_staff(current_user):
            return redirect(url_for(home_endpoint(current_user)))  # applicants have no second factor here
        user = current_user._get_current_object()
    else:
        marker = _pending()
        if marker is None:
            return _start_again()
        try:
            user = accounts.pending_user(marker["id"], marker["token"], ChallengePurpose.ENROL)
        except Gone as error:
            return _start_again(str(error))
    form = AuthenticatorCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            if marker is not None:
                user, codes = accounts.confirm_pending_enrolment(marker["id"], marker["token"], form.code.data)
            else:
                codes = accounts.confirm_enrolment(user.id, form.code.data)
        except Gone as error:
            return _start_again(str(error))
        except InvalidInput as error:
            form.form_errors.append(str(error))
            form.code.data = ""  # a wrong code is not shown again: the next one is typed afresh
            status = 422
        else:
            after = (safe_next(marker.get("next")) if marker else url_for("two_factor.account")) \
                or url_for(home_endpoint(user))
            sign_in_user(user, strength=accounts.Strength.TOTP)  # this session has its second factor now
            return _private(render_template("auth/two_factor_recovery_codes.html", codes=codes, after=after,
                                            first=True))
    elif form.is_submitted():
        status = 422
    try:
        enrolment = accounts.prepare_enrolment(user.id)
    except Conflict:
        flash(_("Two-step sign-in is already set up for this account."), "info")
        return redirect(url_for("two_factor.account"))
    qr = segno.make(enrolment.uri, error="m").svg_data_uri(scale=5, border=4)
    grouped = " ".join(enrolment.secret[i:i + 4] for i in range(0, len(enrolment.secret), 4))
    return _private(render_template("auth/two_factor_enrol.html", form=form, qr=qr, secret=grouped,
                                    issuer=current_app.config["TWO_FACTOR_ISSUER"], account=user.username,
                                    at_sign_in=marker is not None)), status


@bp.route("/auth/two-factor/")
@roles(*accounts.STAFF_ROLES)
def account():
    """The staff member's two-step sign-in: set up or not, since when, recovery codes left."""
    return render_template("auth/two_factor.html", status=accounts.two_factor_status(current_user.id),
                           form=AuthenticatorCodeForm(), required=current_app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"])


@bp.route("/auth/two-factor/recovery-codes", methods=["POST"])
@roles(*accounts.STAFF_ROLES)
def renew_recovery_codes():
    """Ten new recovery codes for a current code of the app; the old ones stop working."""
    form = AuthenticatorCodeForm()
    if form.validate_on_submit():
        try:
            codes = accounts.renew_recovery_codes(current_user.id, form.code.data)
        except (InvalidInput, Conflict) as error:
            form.form_errors.append(str(error))
        else:
            return _private(render_template("auth/two_factor_recovery_codes.html", codes=codes,
                                            after=url_for("two_factor.account"), first=False))
    return render_template("auth/two_factor.html", status=accounts.two_factor_status(current_user.id), form=form,
                           required=current_app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"]), 422


@bp.route("/admin/users/<id:user_id>/two-factor", methods=["GET", "POST"])
@roles(Role.ADMIN)
def admin_reset(user_id: int):
    """An admin removes a user's second factor (a lost phone), with the reason; audited, and the
    user's sessions end. The user enrols again at its next sign-in."""
    status = accounts.two_factor_status(user_id)  # 404 for an unknown account
    form = ResetForm()
    code = 200
    if form.validate_on_submit():
        try:
            user = accounts.reset_two_factor(current_user, user_id, form.reason.data)
        except DomainError as error:
            form.form_errors.append(str(error))
            code = error.status
        else:
            flash(_("The second factor of %(name)s was reset; the account was signed out everywhere.",
                    name=user.username), "success")
            return redirect(url_for("admin.users"))
    elif form.is_submitted():
        code = 422
    return render_template("admin/two_factor_reset.html", status=status, form=form), code
