"""Forms of the public pages."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, ValidationError
from wtforms.validators import InputRequired, Length, StopValidation

from app import identifiers
from app.forms.validators import NotBlank

# Registered company names are written in Chinese: an entry of Latin letters and digits only is
# read as a code or an identity number, and checked as one (with its check character).
_CODE_SHAPED = re.compile(r"[0-9A-Z]+")


class QueryTarget:
    """A unified social credit code, a resident identity number or a company's registered name.

    Sets ``field.identifier`` (the parsed code or number, or None for a name) and normalises
    ``field.data`` (a code upper-cased without spaces, a name trimmed)."""

    def __call__(self, form, field) -> None:
        field.identifier = None
        compact = identifiers.normalise(field.data)
        if _CODE_SHAPED.fullmatch(compact):
            try:
                field.identifier = identifiers.validate(compact)
            except identifiers.InvalidIdentifier as error:
                raise StopValidation(str(error)) from None
            field.data = field.identifier.value
            return
        name = (field.data or "").strip()  # str.strip takes the full-width space too
        if len(name) < 2:
            raise StopValidation(_l("Enter the full registered name of the company, a code or an identity number."))
        field.data = name


class PublicQueryForm(FlaskForm):
    identifier = StringField(
        _l("Unified social credit code, company name or resident identity number"),
        validators=[InputRequired(), NotBlank(), Length(max=200), QueryTarget()],
    )
    person_name = StringField(
        _l("Name of the person (required with an identity number)"),
        validators=[Length(max=100)],
    )

    def validate_person_name(self, field) -> None:
        parsed = getattr(self.identifier, "identifier", None)
        if parsed is not None and parsed.kind == "natural" and not (field.data or "").strip():
            raise ValidationError(_l("To query a person, enter both the name and the resident identity number."))
