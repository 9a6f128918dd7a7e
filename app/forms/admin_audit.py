"""Filter forms of the admin console's audit log and outbox: in the URL (GET), bookmarkable,
changing nothing, so without a CSRF token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app.forms.validators import choices
from app.labels import LABELS


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField(_l("By (user name)"), validators=[Optional(), Length(max=64)])
    object = StringField(_l("Concerning"), validators=[Optional(), Length(max=100)],
                         description=_l("e.g. case:YY-2026-000123, record:42, user:7, or a word"))
    kind = SelectField(_l("Source"), validators=[Optional()], validate_choice=True, choices=choices([
        ("", _l("All")), ("admin", _l("Admin changes")), ("case", _l("Case events")),
        ("record", _l("Record events"))]))
    day_from = DateField(_l("Since"), validators=[Optional()])
    day_to = DateField(_l("Until"), validators=[Optional()])
    after = StringField(validators=[Optional(), Length(max=100)])

    def validate_day_to(self, field):
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class OutboxFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=True,
                         choices=choices([("", _l("All"))] + list(LABELS["notice_status"].items())))
    channel = SelectField(_l("Channel"), validators=[Optional()], validate_choice=True,
                          choices=choices([("", _l("All"))] + list(LABELS["channel"].items())))
    template = SelectField(_l("Notice"), validators=[Optional()], validate_choice=True,
                           choices=choices([("", _l("All"))] + sorted(LABELS["notice"].items(), key=lambda kv: kv[0])))
    q = StringField(_l("Recipient or key"), validators=[Optional(), Length(max=100)])
    before = IntegerField(validators=[Optional(), NumberRange(min=1)])  # the keyset page
