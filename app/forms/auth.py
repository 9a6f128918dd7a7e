"""Sign-in, sign-up and password forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

from app.forms.validators import AcceptablePassword, SubjectIdentifier


class SignInForm(FlaskForm):
    # Older accounts have user names; accounts made by sign-up since issue 12 sign in with their address.
    username = StringField(_l("User name or e-mail"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=256)])
    next = HiddenField()


class SignUpForm(FlaskForm):
    kind = RadioField(
        _l("Subject type"),
        choices=[SelectChoice("legal", _l("Legal entity")), SelectChoice("natural", _l("Natural person"))],
        default="legal",
        validators=[InputRequired()],
    )
    identifier = StringField(
        _l("Unified social credit code or resident identity number"),
        validators=[InputRequired(), Length(max=40), SubjectIdentifier(kind_field="kind")],
    )
    subject_name = StringField(
        _l("Name of the legal entity or person"), validators=[InputRequired(), Length(max=200)]
    )
    display_name = StringField(_l("Your name (contact person)"), validators=[Optional(), Length(max=100)])
    email = EmailField(
        _l("E-mail"),
        validators=[InputRequired(), Length(max=254), Email(message=_l("This is not an e-mail address."))],
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(max=256),
                    AcceptablePassword(name_fields=("email", "display_name", "subject_name"))],
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


class FinishSignUpForm(FlaskForm):
    """The button on the link's page: a POST with its token, so a mail scanner's GET makes nothing."""


class NewPasswordForm(FlaskForm):
    """The page a password link opens: its token travels in the form, not in the address it posts to."""

    token = HiddenField(validators=[InputRequired(), Length(max=100)])
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=256), AcceptablePassword()])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        InputRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=256)])
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=256), AcceptablePassword()])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        InputRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class ForgotPasswordForm(FlaskForm):
    login = StringField(_l("User name or e-mail"), validators=[InputRequired(), Length(max=254)])
