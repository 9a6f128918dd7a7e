"""Forms of the department inbox."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms.validators import SubjectIdentifier, choices
from app.labels import LABELS

SANCTION_KINDS = {
    "warning": _l("Warning"),
    "fine": _l("Fine"),
    "confiscation": _l("Confiscation of illegal gains"),
    "listing": _l("Listing"),
    "licence_revoked": _l("Licence revoked"),
    "business_restricted": _l("Business restricted"),
    "employment_restricted": _l("Employment restricted"),
}
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
    subject_name = StringField(_l("Name of the legal entity or person"), validators=[InputRequired(), Length(max=200)])
    category = SelectField(_l("Category"), choices=choices(LABELS["category"]), validators=[InputRequired()])
    severity = SelectField(_l("Class"), choices=choices(LABELS["severity"]), validators=[InputRequired()])
    decision_number = StringField(_l("Decision document number"), validators=[InputRequired(), Length(max=100)])
    decision_date = DateField(_l("Decision date"), validators=[InputRequired()])
    facts = TextAreaField(_l("Facts"), validators=[InputRequired(), Length(max=4000)])
    sanction = TextAreaField(_l("Sanction"), validators=[InputRequired(), Length(max=2000)])
    sanction_kinds = SelectMultipleField(_l("Kinds of sanction"), choices=choices(SANCTION_KINDS),
                                         widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                         validators=[Optional()])
    sector = SelectField(_l("Sector"), choices=choices(SECTORS), validators=[Optional()])
    publish_minor = BooleanField(_l("Publish although minor (the department finds it necessary)"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV (UTF-8) or XLSX file"), validators=[FileRequired()])
    report = BooleanField(_l("On errors, download the report as CSV"))
