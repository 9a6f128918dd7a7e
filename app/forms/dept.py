"""Forms of the department inbox."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms.validators import NotBlank, PlausibleDecisionDate, SubjectIdentifier, choices
from app.labels import LABELS

SANCTION_KINDS = LABELS["sanction_kind"]
SECTORS = {
    "": _l("Other"),
    "special_equipment": _l("Special equipment"),
    "work_safety": _l("Work safety"),
    "fire": _l("Fire safety"),
}


class RecordForm(FlaskForm):
    kind = RadioField(_l("Subject type"), choices=[SelectChoice("legal", _l("Legal entity")),
                                                  SelectChoice("natural", _l("Natural person"))],
                      default="legal", validators=[InputRequired()])
    identifier = StringField(_l("Unified social credit code or resident identity number"),
                             validators=[InputRequired(), Length(max=40), SubjectIdentifier(kind_field="kind")])
    subject_name = StringField(_l("Name of the legal entity or person"),
                               validators=[InputRequired(), NotBlank(), Length(max=200)])
    category = SelectField(_l("Category"), choices=choices(LABELS["category"]), validators=[InputRequired()])
    severity = SelectField(_l("Class"), choices=choices(LABELS["severity"]), validators=[InputRequired()])
    decision_number = StringField(_l("Decision document number"), validators=[InputRequired(), NotBlank(), Length(max=100)])
    decision_date = DateField(_l("Decision date"), validators=[InputRequired(), PlausibleDecisionDate()])
    facts = TextAreaField(_l("Facts"), validators=[InputRequired(), NotBlank(), Length(max=4000)])
    sanction = TextAreaField(_l("Sanction"), validators=[InputRequired(), NotBlank(), Length(max=2000)])
    sanction_kinds = SelectMultipleField(_l("Kinds of sanction"), choices=choices(SANCTION_KINDS),
                                         widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                         validators=[Optional()])
    sector = SelectField(_l("Sector"), choices=choices(SECTORS), validators=[Optional()])
    measure_until = DateField(_l("Blocking measure (e.g. business restriction) runs until"), validators=[Optional()])
    publish_minor = BooleanField(_l("Publish although minor (the department finds it necessary)"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV (UTF-8) or XLSX file"), validators=[FileRequired(message=_l("Choose a CSV or XLSX file."))],
                     render_kw=dict(accept=".csv,.xlsx"))
    report = BooleanField(_l("On errors, download the report as CSV"))


class RecordCorrectionForm(FlaskForm):
    """The department corrects its own record: the fields start as the record is now."""

    version = HiddenField(validators=[InputRequired(), Length(max=10)])
    facts = TextAreaField(_l("Facts"), validators=[InputRequired(), NotBlank(), Length(max=4000)])
    sanction = TextAreaField(_l("Sanction"), validators=[InputRequired(), NotBlank(), Length(max=2000)])
    sanction_kinds = SelectMultipleField(_l("Kinds of sanction"), choices=choices(SANCTION_KINDS),
                                         widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                         validators=[Optional()])
    severity = SelectField(_l("Class"), choices=choices(LABELS["severity"]), validators=[InputRequired()])
    decision_date = DateField(_l("Decision date"), validators=[InputRequired(), PlausibleDecisionDate()])
    reason = TextAreaField(_l("Why it is corrected"), validators=[InputRequired(), NotBlank(), Length(max=4000)])


class RecordRevocationForm(FlaskForm):
    version = HiddenField(validators=[InputRequired(), Length(max=10)])
    reason = TextAreaField(_l("Why it is revoked"), validators=[InputRequired(), NotBlank(), Length(max=4000)])
