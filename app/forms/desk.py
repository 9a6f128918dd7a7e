"""Forms of the officer desk."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import Optional, ValidationError


class QueueFilterForm(FlaskForm):
    """Filters in the URL (GET): bookmarkable, changes nothing, so no CSRF token."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Type"), validators=[Optional()], validate_choice=True)
    state = SelectField(_l("Status"), validators=[Optional()], validate_choice=True)
    department = SelectField(_l("Department"), validators=[Optional()], validate_choice=True)
    assignee = SelectField(_l("Handled by"), validators=[Optional()], validate_choice=True)
    overdue = BooleanField(_l("Overdue only"))
    submitted_from = DateField(_l("Submitted from"), validators=[Optional()])
    submitted_to = DateField(_l("Submitted until"), validators=[Optional()])
    after = StringField(validators=[Optional()])

    def validate_submitted_to(self, field):
        if field.data and self.submitted_from.data and field.data < self.submitted_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class BulkForm(FlaskForm):
    action = SelectField(_l("Action"), choices=[], validate_choice=True)
    assignee_id = SelectField(_l("Assign to officer"), coerce=int, validators=[Optional()], validate_choice=False)
