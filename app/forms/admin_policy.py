"""The admin console's policy draft: the version in force with the fields an admin edits.

The fields follow the body they start from (its record classes, its workflows' clocks), so the
form class is made per body (``policy_draft_form``); field names are the body's paths, e.g.
``class.general.publicity`` or ``sla.repair.accept.length``. A valid form gives the new body
(``draft_body``): the base with the edited values; the rest of the base (legacy clause,
sanctions that bar repair, working hours...) is carried over unchanged.
"""
from __future__ import annotations

import copy
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, ValidationError
from wtforms.validators import AnyOf

from app import clock
from app.forms.validators import IsoDay, Period, WholeNumber

UNITS = ("wd", "cd")  # working days, calendar days


def _text(value):
    return (value or "").strip()


class PolicyDraftForm(FlaskForm):
    """The fields every body has; ``policy_draft_form`` adds those of the body's classes and clocks."""

    base: dict = {}

    effective_from = StringField(validators=[IsoDay(_l("Choose the day the version takes effect (YYYY-MM-DD)."))])
    note = StringField(filters=[lambda value: (value or "")[:2000]])
    action = StringField()  # the button pressed: "save", else a preview
    due_soon_wd = StringField(filters=[_text], validators=[WholeNumber(0)])
    publication_wd = StringField(filters=[_text], validators=[WholeNumber(1)])
    retention = StringField(filters=[_text, str.lower], validators=[Period()])

    def validate_effective_from(self, field) -> None:
        if field.day is not None and field.day < clock.today():
            raise ValidationError(_l("A policy version cannot take effect in the past; choose today or a later day."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for name in self.base.get("record_classes", {}):
            shortest, publicity = self[f"class.{name}.shortest_publicity"], self[f"class.{name}.publicity"]
            if not shortest.errors and not publicity.errors and shortest.months > publicity.months:
                publicity.errors.append(str(_l("The publicity period cannot be shorter than the shortest publicity.")))
                valid = False
        return valid

    @property
    def effective_day(self) -> date | None:
        return self.effective_from.day

    def error_messages(self) -> dict[str, str]:
        """The first error of each field, by field name, as the page marks them."""
        return {name: str(messages[0]) for name, messages in self.errors.items()
                if name != "csrf_token" and messages}

    def draft_body(self) -> dict:
        """The base body with the submitted values; a field with an error keeps the base's value."""
        body = copy.deepcopy(self.base)

        def value(name: str, current):
            field = self[name]
            return current if field.errors or field.data is None else field.data

        for name, rule in body["record_classes"].items():
            prefix = f"class.{name}."
            rule["published"] = bool(self[prefix + "published"].data)
            rule["repairable"] = bool(self[prefix + "repairable"].data)
            rule["shortest_publicity"] = value(prefix + "shortest_publicity", rule["shortest_publicity"])
            rule["publicity"] = value(prefix + "publicity", rule["publicity"])
        for workflow, clocks in body["sla"].items():
            for clock_name, spec in clocks.items():
                prefix = f"sla.{workflow}.{clock_name}."
                unit = value(prefix + "unit", "wd" if "wd" in spec else "cd")
                new_spec = {unit: int(value(prefix + "length", spec.get("wd", spec.get("cd", 1))))}
                if "extension" in spec:
                    new_spec["extension"] = int(value(prefix + "extension", spec["extension"]))
                if "on_resume" in spec:
                    new_spec["on_resume"] = spec["on_resume"]
                if "shift_to_working_day" in spec:  # kept as it was: the draft does not edit the switch
                    new_spec["shift_to_working_day"] = spec["shift_to_working_day"]
                clocks[clock_name] = new_spec
        reminders = body.setdefault("reminders", {})
        reminders["due_soon_before"] = {
            "wd": int(value("due_soon_wd", reminders.get("due_soon_before", {}).get("wd", 1)))}
        body["publication_deadline"] = {
            "wd": int(value("publication_wd", body.get("publication_deadline", {}).get("wd", 7)))}
        body["retention_after_retirement"] = value("retention", body.get("retention_after_retirement", "5y"))
        return body


def policy_draft_form(base: dict, **kwargs) -> PolicyDraftForm:
    """The draft form for a body: a field for each class's periods and flags and each clock."""

    class Draft(PolicyDraftForm):
        pass

    Draft.base = base
    for name in base["record_classes"]:
        prefix = f"class.{name}."
        setattr(Draft, prefix + "published", BooleanField())
        setattr(Draft, prefix + "repairable", BooleanField())
        setattr(Draft, prefix + "shortest_publicity", StringField(filters=[_text, str.lower], validators=[Period()]))
        setattr(Draft, prefix + "publicity", StringField(filters=[_text, str.lower], validators=[Period()]))
    for workflow, clocks in base["sla"].items():
        for clock_name, spec in clocks.items():
            prefix = f"sla.{workflow}.{clock_name}."
            setattr(Draft, prefix + "unit", StringField(
                validators=[AnyOf(UNITS, message=_l("Choose working days or calendar days."))]))
            setattr(Draft, prefix + "length", StringField(filters=[_text], validators=[WholeNumber(1)]))
            if "extension" in spec:
                setattr(Draft, prefix + "extension", StringField(filters=[_text], validators=[WholeNumber(0)]))
    return Draft(**kwargs)
