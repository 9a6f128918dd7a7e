"""The forms of the second factor: a code at sign-in, the first code of an enrolment, new
recovery codes, and an admin's reset with its reason."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length


class CodeForm(FlaskForm):
    """At sign-in: the authenticator's 6 digits, or a recovery code."""

    code = StringField(_l("Verification code"), validators=[InputRequired(message=_l("Type the code.")), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false",
                                  "autofocus": True})


class AuthenticatorCodeForm(FlaskForm):
    """The 6 digits the authenticator app shows now (enrolment, new recovery codes)."""

    code = StringField(_l("Code from the app"),
                       validators=[InputRequired(message=_l("Type the code.")), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ResetForm(FlaskForm):
    reason = TextAreaField(_l("Reason (kept in the audit log)"), validators=[
        InputRequired(message=_l("Give the reason for the reset (5 to 500 characters).")),
        Length(min=5, max=500, message=_l("Give the reason for the reset (5 to 500 characters)."))])
