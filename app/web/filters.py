"""Jinja filters: local time, masked identifiers, labels of the domain vocabularies."""
from __future__ import annotations

import re
from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from app import clock, labels
from app.identifiers import mask, scrub
from app.models.enums import Role
from app.services.calendar import InvalidPeriod, parse_period


def localtime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return ""
    if fmt == "yyyy-MM-dd HH:mm":  # digits only, the same in every locale: no pattern to parse per row
        return clock.local(value).strftime("%Y-%m-%d %H:%M")
    return format_datetime(clock.local(value), fmt)


def day(value: date | None) -> str:
    return "" if value is None else format_date(value, "yyyy-MM-dd")


def period(spec: str | None) -> str:
    """A policy's period ("3m", "1y", "0d") in words of the reader's language."""
    try:
        length, unit = parse_period(spec or "")
    except InvalidPeriod:
        return spec or ""
    if length == 0:
        return _("none")
    if unit == "y":
        return ngettext("%(num)d year", "%(num)d years", length)
    if unit == "m":
        return ngettext("%(num)d month", "%(num)d months", length)
    return ngettext("%(num)d day", "%(num)d days", length)


_CLOCK_SPEC = re.compile(r"^(\d+)(wd|cd)(?:\+(\d+))?( no-shift)?$")


def clock_spec(text: str | None) -> str:
    """A clock's rule as the policy preview writes it ("15wd+5", "30cd no-shift") in words."""
    match = _CLOCK_SPEC.match(text or "")
    if not match:
        return text or ""
    length, unit, extension, no_shift = match.groups()
    words = clock_length(int(length), unit)
    if extension:
        words += _(", extended once by %(more)s", more=clock_length(int(extension), unit))
    if no_shift:
        words += _(", not moved off rest days")
    return words


def clock_length(length: int, unit: str) -> str:
    if unit == "wd":
        return ngettext("%(num)d working day", "%(num)d working days", length)
    return ngettext("%(num)d calendar day", "%(num)d calendar days", length)


def identifier_for_viewer(subject) -> str:
    """A natural person's number in full only to that person and to platform staff."""
    user = current_user
    if user.is_authenticated and (
        user.role in (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
        or (user.role == Role.APPLICANT and user.subject_id == subject.id)
    ):
        return subject.identifier
    return mask(subject.identifier, subject.kind)


def scrub_for_viewer(text: object) -> object:
    """Free text (a statement, a title, a reason, a record's facts) with identity numbers masked,
    except for platform staff and applicants: the access rules show an applicant only the pages of
    subjects it is verified for, whose own text it wrote or is about. A department (a case put
    before it, the applicant's statement) and anyone else see the numbers masked. The public
    page masks always (``scrub``): it is public whoever is signed in."""
    if not isinstance(text, str):
        return "" if text is None else text  # a date or a number in a list of values: nothing to mask
    user = current_user
    if user.is_authenticated and user.role in (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN, Role.APPLICANT):
        return text
    return scrub(text)


class Labels(dict):
    """The screen names of one vocabulary's codes in this request's language, each looked up once:
    ``names[code]`` is ``label(vocabulary, code)``. A page whose rows repeat a few codes asks the
    catalog once per code, not once per row. Made per request (the language is the reader's)."""

    def __init__(self, vocabulary: str) -> None:
        super().__init__()
        self.vocabulary = vocabulary

    def __missing__(self, code: str) -> str:
        name = self[code] = labels.label(self.vocabulary, code)
        return name


def register(app: Flask) -> None:
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(day, "day")
    app.add_template_filter(period, "period")
    app.add_template_filter(clock_spec, "clock_spec")
    app.add_template_global(clock_length)
    app.add_template_filter(mask, "mask_identifier")
    app.add_template_filter(scrub, "scrub")  # identity numbers in free text (errors, reasons)
    app.add_template_filter(scrub_for_viewer, "scrub_for_viewer")
    app.add_template_global(identifier_for_viewer)
    app.add_template_global(labels.label, "label")
    app.add_template_filter(lambda code, vocabulary: labels.label(vocabulary, code), "label_state")
