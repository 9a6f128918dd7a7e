"""Jinja filters: local time, masked identifiers, labels of the domain vocabularies."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime
from flask_login import current_user

from app import clock, labels
from app.identifiers import mask, scrub
from app.models.enums import Role


def localtime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return ""
    if fmt == "yyyy-MM-dd HH:mm":  # digits only, the same in every locale: no pattern to parse per row
        return clock.local(value).strftime("%Y-%m-%d %H:%M")
    return format_datetime(clock.local(value), fmt)


def day(value: date | None) -> str:
    return "" if value is None else format_date(value, "yyyy-MM-dd")


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


def register(app: Flask) -> None:
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(day, "day")
    app.add_template_filter(mask, "mask_identifier")
    app.add_template_filter(scrub, "scrub")  # identity numbers in free text (errors, reasons)
    app.add_template_filter(scrub_for_viewer, "scrub_for_viewer")
    app.add_template_global(identifier_for_viewer)
    app.add_template_global(labels.label, "label")
    app.add_template_filter(lambda code, vocabulary: labels.label(vocabulary, code), "label_state")
