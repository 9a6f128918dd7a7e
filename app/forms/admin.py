"""Forms of the admin console."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField, URLField
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp

from app.forms.validators import AcceptablePassword, choices
from app.labels import LABELS


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[
        InputRequired(), Length(min=3, max=64),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters, digits, dot, dash or underscore."))])
    display_name = StringField(_l("Name"), validators=[InputRequired(), Length(max=100)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254), Email(message=_l("This is not an e-mail address."))])
    role = SelectField(_l("Role"), choices=choices(LABELS["role"]), validators=[InputRequired()])
    department_code = StringField(_l("Department code (department users)"), validators=[Optional(), Length(max=32)])
    subject_identifier = StringField(_l("Subject identifier (applicants)"), validators=[Optional(), Length(max=40)])
    password = PasswordField(_l("Initial password"), validators=[
        InputRequired(), Length(max=256), AcceptablePassword(name_fields=("username", "display_name", "email"))])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices(LABELS["role"]), validators=[InputRequired()])
    department_code = StringField(_l("Department code (department users)"), validators=[Optional(), Length(max=32)])
    subject_identifier = StringField(_l("Subject identifier (applicants)"), validators=[Optional(), Length(max=40)])


class DepartmentForm(FlaskForm):
    code = StringField(_l("Department code"), validators=[
        InputRequired(), Length(min=2, max=32),
        Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Use letters, digits, dash or underscore."))])
    name = StringField(_l("Department name"), validators=[InputRequired(), Length(max=200)])
    contact_email = EmailField(_l("Contact e-mail"), validators=[
        Optional(), Length(max=254), Email(message=_l("This is not an e-mail address."))])
    is_active = BooleanField(_l("Active"), default=True)


class WebhookForm(FlaskForm):
    name = StringField(_l("Webhook name"), validators=[InputRequired(), Length(max=100)])
    # The address rule itself (https, public addresses only ...) is the service's, one for the
    # form and the API: app/services/webhook_url.py.
    url = URLField(_l("Address (URL)"), validators=[InputRequired(), Length(max=500)])
    # The notices by their labels (a test holds the labels to the notice templates, one each).
    events = SelectMultipleField(_l("Notices"), validators=[Optional()], choices=choices(
        [("*", _l("All notices"))] + [(name, LABELS["notice"][name]) for name in sorted(LABELS["notice"])]))


class ApiKeyForm(FlaskForm):
    name = StringField(_l("What the key is for"), validators=[InputRequired(), Length(max=100)])
