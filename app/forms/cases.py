"""Forms of the case pages: acting on a case, submitting applications."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional


class ActionForm(FlaskForm):
    """One form for every action on a case; the pressed button names the trigger."""

    trigger = HiddenField(validators=[InputRequired(), Length(max=40)])
    version = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])
    files = MultipleFileField(_l("Files (PDF, JPG or PNG, at most 10 MB each)"))
    assignee_id = SelectField(_l("Assign to officer"), coerce=int, validators=[Optional()], validate_choice=False)
    verification = SelectField(_l("Verification result"), validators=[Optional()], validate_choice=False)
    corrected_facts = TextAreaField(_l("Corrected facts"), validators=[Optional(), Length(max=4000)])
    corrected_sanction = TextAreaField(_l("Corrected sanction"), validators=[Optional(), Length(max=2000)])


class ApplicationForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    statement = TextAreaField(_l("Your statement"), validators=[InputRequired(), Length(max=8000)])
    evidence = MultipleFileField(_l("Evidence (PDF, JPG or PNG, at most 10 MB each)"))


class RepairForm(ApplicationForm):
    obligation_proof = MultipleFileField(_l("Proof that the obligation was fulfilled"))
    commitment = MultipleFileField(_l("Signed credit commitment"))


class ComplaintForm(ApplicationForm):
    record_id = SelectField(_l("About the record"), coerce=int, validators=[Optional()], validate_choice=False)
    department_id = SelectField(_l("About the department"), coerce=int, validators=[Optional()], validate_choice=False)
