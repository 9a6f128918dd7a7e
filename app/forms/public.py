"""Forms of the public pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from app.forms.validators import SubjectIdentifier


class PublicQueryForm(FlaskForm):
    identifier = StringField(
        _l("Unified social credit code or resident identity number"),
        validators=[InputRequired(), Length(max=40), SubjectIdentifier()],
    )
