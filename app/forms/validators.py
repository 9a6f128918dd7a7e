"""Reusable field validators."""
from __future__ import annotations

from wtforms import ValidationError
from wtforms.fields.choices import SelectChoice

from app import identifiers


class SubjectIdentifier:
    """Validates a USCC or a resident identity number, with its check character.

    ``kind_field`` names the form field that says which kind is expected; without it the
    kind is read from the identifier's shape. The normalised value and the parsed
    identifier are stored on the field (``field.data``, ``field.identifier``).
    """

    def __init__(self, kind_field: str | None = None):
        self.kind_field = kind_field

    def __call__(self, form, field) -> None:
        kind = form[self.kind_field].data if self.kind_field else None
        try:
            parsed = identifiers.validate(field.data or "", kind)
        except identifiers.InvalidIdentifier as error:
            raise ValidationError(str(error)) from None
        field.data = parsed.value
        field.identifier = parsed


def choices(pairs) -> list[SelectChoice]:
    """Select options from a {value: label} mapping or (value, label) pairs."""
    items = pairs.items() if hasattr(pairs, "items") else pairs
    return [SelectChoice(value, label) for value, label in items]
