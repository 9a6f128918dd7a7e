"""The letter a step issued goes with the e-mail notice of that step, as its attachment."""
from __future__ import annotations

from app.extensions import db
from app.models import Letter, Notification
from app.services.letters.queries import file_name
from app.services.notices.delivery import ATTACHMENTS

STEP_NOTICE = "case_changed"  # the notice of a step (``cases.effects.notify_transition``), which names its letter


def letter_attachment(notice: Notification) -> tuple[str, bytes] | None:
    """The PDF of the letter the notice names (``payload["letter"]``), as issued; None for a
    step that issued none."""
    letter_id = (notice.payload or {}).get("letter")
    if not isinstance(letter_id, int):
        return None
    letter = db.session.get(Letter, letter_id)
    return None if letter is None or letter.pdf is None else (file_name(letter), letter.pdf)


ATTACHMENTS[STEP_NOTICE] = letter_attachment
