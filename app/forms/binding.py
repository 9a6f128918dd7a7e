"""Forms of subject binding: the documents an account holder sends, an officer's decision."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.forms.cases import DOCUMENT_TYPES
from app.models.enums import BindingCapacity


class BindingDocumentsForm(FlaskForm):
    capacity = RadioField(
        _l("You act for the subject as"),
        choices=[
            SelectChoice(BindingCapacity.SELF.value, _l("The person itself")),
            SelectChoice(BindingCapacity.LEGAL_REPRESENTATIVE.value, _l("Legal representative")),
            SelectChoice(BindingCapacity.AGENT.value, _l("Agent with an authorisation letter")),
        ],
        validators=[InputRequired()],
    )
    business_licence = FileField(_l("Business licence (companies)"), render_kw=DOCUMENT_TYPES)
    identity_card = FileField(_l("Your resident identity card"), render_kw=DOCUMENT_TYPES)
    authorisation_letter = FileField(_l("Authorisation letter (agents)"), render_kw=DOCUMENT_TYPES)


class BindingDecisionForm(FlaskForm):
    """An officer's step on a binding; the pressed button names the trigger."""

    trigger = HiddenField(validators=[InputRequired(), Length(max=40)])
    version = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class EndBindingForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])
