"""Personal data the audit trail points to, kept apart so that it can be erased (issue 13, item 7).

The audit tables (case, record and binding events, the admin audit) are append-only: database
triggers refuse every UPDATE and DELETE, so the trail always replays. Personal data written into
them could then never go. So an event keeps only what the trail needs (who, when, which object,
from which state to which, ids, case numbers) and, in place of each personal value, the text it
shows once erased (``ERASED``); the values themselves are in one ``personal_data`` row that the
event points to (``personal_data_id``). The retention purge blanks that row (``body`` NULL,
``erased_at`` set): the event row is never touched, and it still shows that a reason was given
or a field corrected, now as ``[已清除]``.

Why a separate table rather than encryption with a per-subject key that the purge destroys
(crypto-shredding): events are written in several places (case transitions, record lifecycle,
bindings, every admin change) and read in several more (case page, department record page,
binding page, the audit log and its CSV), so both designs touch the same writers and readers;
the table needs no key management, no key per subject to find for events that are not about
one subject (an admin's change to a user), stays readable in SQL, and its erasure is one
set-based UPDATE per batch that a test can check by reading the database.

What is personal: every free-text ``reason`` of an event, and wherever they appear in an event's
``data`` or an audit row's ``before``/``after``, the values under ``PERSONAL_KEYS`` (texts of a
record, names, user names, e-mail addresses, file names). Writers need not know: the ``reason``,
``data``, ``before`` and ``after`` attributes of the models split on write and merge on read.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base

ERASED = "[已清除]"

# Keys whose values are personal data wherever they appear in an event's data or an audit
# snapshot: a record's texts, people's and subjects' names, user names (e-mail addresses),
# e-mail addresses, file names, statements and free-text reasons.
PERSONAL_KEYS = frozenset({
    "facts", "sanction", "statement", "reason", "name", "display_name", "claimed_name", "given_name",
    "known_name", "kept_name", "username", "email", "files", "filename",
})


class PersonalData(Base):
    """The personal part of one audit row; ``body`` is NULL once erased."""

    __tablename__ = "personal_data"

    id: Mapped[int] = mapped_column(primary_key=True)
    # {"reason": "...", "data": {...}} for an event, {"before": {...}, "after": {...}} for an
    # admin audit row: the same shape as the row's own columns, holding only the personal values.
    body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    erased_at: Mapped[datetime | None]

    def __repr__(self) -> str:  # never the body: reprs end up in logs
        return f"<PersonalData {self.id}{' erased' if self.erased_at else ''}>"


def _present(value) -> bool:
    return value not in (None, "", [], {})


def split(value):
    """(what the audit row keeps, the personal part) of a JSON value: personal values are
    replaced by ``ERASED`` in the first and kept, at the same place, in the second (None when
    there are none)."""
    if not isinstance(value, dict):
        return value, None
    kept, personal = {}, {}
    for key, item in value.items():
        if key in PERSONAL_KEYS and _present(item):
            kept[key], personal[key] = ERASED, item
        else:
            kept[key], inner = split(item)
            if inner:
                personal[key] = inner
    return kept, personal or None


def merge(kept, personal):
    """The value as written: ``kept`` with the personal values put back where they were."""
    if personal is None:
        return kept
    if not isinstance(kept, dict) or not isinstance(personal, dict):
        return personal if kept == ERASED else kept
    return {key: merge(item, personal.get(key)) for key, item in kept.items()}


def split_text(text: str | None) -> tuple[str | None, str | None]:
    """(what the row keeps, the personal part) of a free text: all of it is personal."""
    return (ERASED, text) if _present(text) else (text, None)


class Erasable:
    """Helpers for a model whose columns keep their personal values in ``personal``."""

    def _personal_part(self, column: str):
        personal = self.personal  # type: ignore[attr-defined]
        if personal is None or personal.body is None:
            return None
        return personal.body.get(column)

    def _keep_personal(self, column: str, part) -> None:
        """Put ``part`` under ``column`` in the row's personal data (made on first use)."""
        personal = self.personal  # type: ignore[attr-defined]
        body = dict(personal.body or {}) if personal is not None else {}
        if part is None:
            body.pop(column, None)
        else:
            body[column] = part
        if personal is None:
            if body:
                self.personal = PersonalData(body=body)  # type: ignore[attr-defined]
        else:
            personal.body = body or None  # a new dict: JSON columns see replacement only
