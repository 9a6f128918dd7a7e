"""Forms of the case pages: acting on a case, submitting applications."""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms.dept import SANCTION_KINDS
from app.forms.validators import NotBlank, choices
from app.labels import LABELS

# The file inputs' ``accept``: what the services take (by content: PDF, JPEG, PNG); the limits
# and the hint beside each input come from ``upload_rules`` (app/web/errors.py).
DOCUMENT_TYPES = dict(accept=".pdf,.jpg,.jpeg,.png")  # a keyword: "accept" is a trigger too


class ActionForm(FlaskForm):
    """One form for every action on a case; the pressed button names the trigger."""

    trigger = HiddenField(validators=[InputRequired(), Length(max=40)])
    version = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])
    files = MultipleFileField(_l("Files"), render_kw=DOCUMENT_TYPES)
    assignee_id = SelectField(_l("Assign to officer"), coerce=int, validators=[Optional()], validate_choice=False)
    verification = SelectField(_l("Verification result"), validators=[Optional()], validate_choice=False)
    corrected_facts = TextAreaField(_l("Corrected facts"), validators=[Optional(), Length(max=4000)])
    corrected_sanction = TextAreaField(_l("Corrected sanction"), validators=[Optional(), Length(max=2000)])
    corrected_sanction_kinds = SelectMultipleField(
        _l("Corrected kinds of sanction"), choices=choices(SANCTION_KINDS), widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(), validators=[Optional()])
    corrected_severity = SelectField(_l("Corrected class"), choices=choices([("", "—"), *LABELS["severity"].items()]),
                                     validators=[Optional()])
    corrected_decision_date = DateField(_l("Corrected decision date"), validators=[Optional()])
    corrections_shown = HiddenField(validators=[Optional(), Length(max=1)])  # the page showed the corrections


def one_time_token() -> str:
    return secrets.token_urlsafe(32)


class ApplicationForm(FlaskForm):
    # A one-time token drawn when the form is shown: a second POST of the same form (a double
    # click, Back and submit again) finds the case the first one filed (``submit_case``).
    form_token = HiddenField(default=one_time_token, validators=[Optional(), Length(max=100)])
    existing_case: tuple[int, str] | None = None  # set by the view: the open case a refusal names
    needs_confirmation = False  # set by the view: a repeat complaint waits for "submit anyway"
    title = StringField(_l("Title"), validators=[InputRequired(), NotBlank(), Length(max=200)])
    statement = TextAreaField(_l("Your statement"), validators=[InputRequired(), NotBlank(), Length(max=8000)])
    evidence = MultipleFileField(_l("Evidence"), render_kw=DOCUMENT_TYPES)


class RepairForm(ApplicationForm):
    obligation_proof = MultipleFileField(_l("Proof that the obligation was fulfilled"), render_kw=DOCUMENT_TYPES)
    commitment = MultipleFileField(_l("Signed credit commitment"), render_kw=DOCUMENT_TYPES)


class ComplaintForm(ApplicationForm):
    record_id = SelectField(_l("About the record"), coerce=int, validators=[Optional()], validate_choice=False)
    department_id = SelectField(_l("About the department"), coerce=int, validators=[Optional()], validate_choice=False)
    about_case_id = SelectField(_l("About the handling of my case"), coerce=int, validators=[Optional()],
                                validate_choice=False)
    submit_anyway = BooleanField(_l("Submit anyway"))
