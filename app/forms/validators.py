"""Reusable field validators."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from app import clock, identifiers
from app.models.record import EARLIEST_DECISION_DATE
from app.passwords import password_problems


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


class AcceptablePassword:
    """The password rule (``app.passwords``: length, common passwords, the account's names,
    repeats and runs), every reason shown on the field.

    ``name_fields`` name the form's fields that hold the account's names (user name, address,
    display name, subject name); a view may add names the form does not hold as
    ``form.account_names``. The use case checks again with all of the account's names.
    """

    def __init__(self, name_fields: tuple[str, ...] = ()):
        self.name_fields = name_fields

    def __call__(self, form, field) -> None:
        names = [form[name].data or "" for name in self.name_fields if name in form]
        problems = password_problems(field.data or "", names=names + list(getattr(form, "account_names", ())))
        if problems:
            field.errors.extend(problems[:-1])
            raise ValidationError(problems[-1])


def choices(pairs) -> list[SelectChoice]:
    """Select options from a {value: label} mapping or (value, label) pairs."""
    items = pairs.items() if hasattr(pairs, "items") else pairs
    return [SelectChoice(value, label) for value, label in items]


class IsoDay:
    """A day written YYYY-MM-DD; the parsed day is stored on the field (``field.day``, None if not one)."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field) -> None:
        field.day = None
        try:
            field.day = date.fromisoformat((field.data or "").strip())
        except ValueError:
            raise StopValidation(self.message) from None


# The syntax of a period in the policy ("3m", "1y", "20d"); what a period means is the calendar's
# (Civil Code) business, not the form's.
PERIOD = re.compile(r"^\s*(\d{1,4})\s*([dmy])\s*$")
_MONTHS_PER_UNIT = {"d": 1 / 30.4375, "m": 1, "y": 12}


class Period:
    """A period written as a number and d, m or y; its rough length in months goes on the field
    (``field.months``), to compare two periods."""

    def __call__(self, form, field) -> None:
        match = PERIOD.match(field.data or "")
        if not match:
            raise ValidationError(_l("Write a period as a number and d, m or y, e.g. 3m or 1y."))
        field.months = int(match.group(1)) * _MONTHS_PER_UNIT[match.group(2)]


class WholeNumber:
    """A whole number of days from ``minimum`` to 3650, written in digits."""

    def __init__(self, minimum: int = 0):
        self.minimum = minimum

    def __call__(self, form, field) -> None:
        raw = field.data or ""
        if not raw.isdigit() or not self.minimum <= int(raw) <= 3650:
            raise ValidationError(_l("Write a whole number from %(min)d to 3650.", min=self.minimum))


class NotBlank:
    """Text that is more than spaces: refused like an empty field (use after InputRequired)."""

    def __call__(self, form, field) -> None:
        if not (field.data or "").strip():
            raise StopValidation(_l("This field cannot be only spaces."))


class PlausibleDecisionDate:
    """A decision date not before ``EARLIEST_DECISION_DATE`` (a typo such as 1900-01-01) and not in
    the future; the services refuse the same on every other path (import, API)."""

    def __call__(self, form, field) -> None:
        if field.data is None:
            return
        if field.data < EARLIEST_DECISION_DATE:
            raise StopValidation(_l("The decision date is implausibly early: decisions before %(day)s are not accepted.",
                                    day=EARLIEST_DECISION_DATE.isoformat()))
        if field.data > clock.today():
            raise StopValidation(_l("The decision date is in the future."))
