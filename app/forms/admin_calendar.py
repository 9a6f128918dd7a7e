"""Forms of the admin console's working-day calendar."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, Form, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.forms.validators import choices
from app.models.enums import OverrideKind

OVERRIDE_KINDS = {
    OverrideKind.HOLIDAY.value: _l("Holiday (day off)"),
    OverrideKind.WORKDAY.value: _l("Make-up working day"),
}


class MonthQuery(Form):
    """``?year=&month=`` of the calendar page; both optional (today's by default)."""

    year = IntegerField(validators=[Optional(), NumberRange(min=1, max=9999, message=_l("Choose a year."))])
    month = IntegerField(validators=[Optional(), NumberRange(min=1, max=12, message=_l("Choose a month from 1 to 12."))])


class OverrideForm(FlaskForm):
    """A day's status set by an admin: shown as a preview first, saved when ``confirm`` is 1."""

    day = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter the date as YYYY-MM-DD."))])
    kind = SelectField(_l("Kind"), choices=choices(OVERRIDE_KINDS), validators=[InputRequired()])
    note = StringField(_l("Note (e.g. the State Council notice)"), validators=[Optional(), Length(max=200)])
    confirm = HiddenField(default="")


class ScheduleImportForm(FlaskForm):
    file = FileField(_l("Official schedule (CSV: date,kind[,note]; UTF-8 or GB18030)"),
                     validators=[FileRequired(message=_l("Choose a CSV file."))], render_kw=dict(accept=".csv"))
