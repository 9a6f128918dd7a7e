"""What a job's last run did, in the reader's language.

The scheduler stores each run's result as the JSON of the job's result dataclass
(``app.services.admin.jobs.run_job``: ExpiryResult, SweepResult, DispatchResult, PurgeResult).
The admin home shows it as one short sentence of the fields that did something, each said by
its phrase in ``LABELS["job_result"]`` under "job.field" ("已退出公示 1,234 条；已关闭案件 3 件"),
never as JSON.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask_babel import format_decimal
from flask_babel import gettext as _

from app.labels import LABELS

_LONGEST_TEXT = 80  # a text value longer than this is cut, with an ellipsis


@dataclass(frozen=True)
class ResultText:
    text: str
    stored_as_is: bool = False  # True: the stored value is no JSON (cut, or older), shown as it is


def describe_result(job: str, stored: str | None) -> ResultText | None:
    """The sentence for the result ``job`` stored; None when the job never finished a run."""
    if not stored:
        return None
    try:
        value = json.loads(stored)
    except ValueError:
        return ResultText(stored, stored_as_is=True)
    phrases = result_phrases(job, value)
    return ResultText(_("; ").join(phrases) if phrases else _("Nothing to do"))


def result_phrases(job: str, value: object) -> list[str]:
    """One phrase per field with something in it, in the result's order; unknown fields by their
    name made readable. A result that is no object (a job returning a bare count) is one phrase."""
    if not isinstance(value, dict):
        return [] if _empty(value) else [_summary(value)]
    phrases = []
    for field, item in value.items():
        if _empty(item):
            continue
        phrase = LABELS["job_result"].get(f"{job}.{field}")
        if _is_identifier(field, item):
            shown = str(item)
        else:  # a phrase counts (its unit is its own): a list or an object is given as a bare number
            shown = _summary(item, counted=phrase is not None)
        if phrase is not None:
            phrases.append(str(phrase) % {"n": shown})
        else:
            phrases.append(_("%(name)s: %(n)s", name=_readable(field), n=shown))
    return phrases


def _empty(value: object) -> bool:
    return value is None or value is False or value == 0 or value in ("", [], {})


def _is_identifier(field: str, value: object) -> bool:
    """A number naming a row (``run_id``) is shown as it is, without grouping digits."""
    return (field == "id" or field.endswith("_id")) and isinstance(value, int) and not isinstance(value, bool)


def _summary(value: object, counted: bool = False) -> str:
    """A value in a few characters: numbers grouped as the language does, lists and objects by
    their size (an object of counts by their total), texts cut short. ``counted``: the size
    alone, for a phrase that says what it counts."""
    if value is True:
        return _("yes")
    if isinstance(value, int | float):
        return format_decimal(value)
    if isinstance(value, list):
        size = format_decimal(len(value))
        return size if counted else _("%(n)s item(s)", n=size)
    if isinstance(value, dict):
        counts = [v for v in value.values() if isinstance(v, int | float) and not isinstance(v, bool)]
        if counts and len(counts) == len(value):
            return format_decimal(sum(counts))
        size = format_decimal(len(value))
        return size if counted else _("%(n)s entries", n=size)
    text = str(value)
    return text if len(text) <= _LONGEST_TEXT else text[:_LONGEST_TEXT - 1] + "…"


def _readable(field: str) -> str:
    words = field.replace("_", " ").strip()
    return words[:1].upper() + words[1:]
