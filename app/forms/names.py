"""The officer's decision on a subject's name that disagrees (issue 12)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from app.forms.validators import NotBlank


class NameResolutionForm(FlaskForm):
    """Which name stands, and why; ``seen`` is the platform's name the officer had in front of it."""

    keep = RadioField(
        _l("Name that stands"),
        choices=[SelectChoice("known", _l("Keep the platform's name")),
                 SelectChoice("given", _l("Take the given name"))],
        validators=[InputRequired(message=_l("Choose which name stands."))],
    )
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(message=_l("Please give a reason.")), NotBlank(),
                                                     Length(max=2000)])
    seen = HiddenField(validators=[Length(max=200)])
