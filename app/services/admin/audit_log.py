"""The audit log as one timeline: admin changes, case events and record events.

The three append-only tables are read as one ``UNION ALL`` with a common shape, filtered
inside the database and paged by keyset on (at, kind, id), newest first, so a page deep in
the history costs what the first one does and nothing loads the whole trail. Identity
numbers in free text (reasons, before/after) are masked here, once, for the page and the CSV.
Each row comes with its erasable personal part (``app.models.personal``), put back in place here:
``[已清除]`` where the retention purge erased it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    String,
    Subquery,
    func,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
)

from app import clock, csv_export
from app.errors import InvalidInput
from app.extensions import db
from app.identifiers import scrub
from app.labels import label
from app.models import AdminAudit, Case, CaseEvent, PersonalData, RecordEvent, User
from app.models.personal import merge

KINDS = ("admin", "case", "record")
PAGE_SIZE = 50
EXPORT_CHUNK = 1000
EXPORT_LIMIT = 100_000  # a bigger export is a database job, not a download

_CASE_NUMBER = re.compile(r"^[A-Z]{2}-\d{4}-\d{6}$")
_TYPED_OBJECT = re.compile(r"^([a-z_]{1,30}):(.+)$")


@dataclass(frozen=True)
class ObjectRef:
    """What the object filter names: a type and id, a case number, or text in the type or label."""

    object_type: str | None = None
    object_id: int | None = None
    case_number: str | None = None
    text: str | None = None


def parse_object(raw: str | None) -> ObjectRef | None:
    """Read "case:YY-2026-000123", "case:12", a bare case number, "record:42", "user:7" or free text."""
    value = (raw or "").strip()
    if not value:
        return None
    if _CASE_NUMBER.match(value.upper()):
        return ObjectRef(object_type="case", case_number=value.upper())
    typed = _TYPED_OBJECT.match(value.lower())
    if typed is None:
        return ObjectRef(text=value.lower())
    object_type, ref = typed.group(1), typed.group(2).strip()
    if ref.isdigit():
        return ObjectRef(object_type=object_type, object_id=int(ref))
    if object_type == "case" and _CASE_NUMBER.match(ref.upper()):
        return ObjectRef(object_type="case", case_number=ref.upper())
    raise InvalidInput(_l("Write the object as type:number, e.g. record:42, user:7 or case:YY-2026-000123."))


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # a user name
    object: ObjectRef | None = None
    day_from: date | None = None  # platform-zone days, both included
    day_to: date | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise InvalidInput(_l("Unknown kind of entry."))
        if self.day_from and self.day_to and self.day_to < self.day_from:
            raise InvalidInput(_l("The end date is before the start date."))


@dataclass(frozen=True)
class AuditCursor:
    """The last entry of a page: the timeline's sort key."""

    at: datetime
    kind: str
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.kind}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> AuditCursor:
        """Raises ValueError on anything that is not a cursor this code wrote."""
        at, kind, entry_id = text.split("~")
        parsed = datetime.fromisoformat(at)
        if kind not in KINDS or parsed.tzinfo is None:
            raise ValueError("bad cursor")
        return cls(parsed, kind, int(entry_id))


@dataclass(frozen=True)
class AuditEntry:
    """One line of the timeline; ``reason``, ``before`` and ``after`` are masked text."""

    at: datetime
    kind: str
    id: int
    actor_id: int | None  # None: the system (a scheduled job)
    actor_username: str | None
    actor_name: str | None
    action: str
    object_type: str
    object_id: int | None
    object_label: str | None  # the case number of case events
    from_state: str | None
    to_state: str | None
    reason: str | None
    before: str | None
    after: str | None

    @property
    def cursor(self) -> AuditCursor:
        return AuditCursor(self.at, self.kind, self.id)


def _timeline(kinds: tuple[str, ...]) -> Subquery:
    """The three sources in one shape. Constant kinds let the database skip unwanted branches."""
    no_text = type_coerce(null(), String)
    no_json = type_coerce(null(), JSON)
    branches = {
        "admin": select(
            AdminAudit.at, literal_column("'admin'", String).label("kind"), AdminAudit.id, AdminAudit.actor_id,
            AdminAudit.action, AdminAudit.object_type, AdminAudit.object_id, no_text.label("object_label"),
            no_text.label("from_state"), no_text.label("to_state"), no_text.label("reason"),
            AdminAudit.stored_before.label("before"), AdminAudit.stored_after.label("after"),
            PersonalData.body.label("personal"),
        ).outerjoin(PersonalData, PersonalData.id == AdminAudit.personal_data_id),
        "case": select(
            CaseEvent.at, literal_column("'case'", String).label("kind"), CaseEvent.id, CaseEvent.actor_id,
            CaseEvent.trigger.label("action"), literal_column("'case'", String).label("object_type"),
            CaseEvent.case_id.label("object_id"), Case.number.label("object_label"),
            CaseEvent.from_state, CaseEvent.to_state, CaseEvent.stored_reason.label("reason"),
            no_json.label("before"), CaseEvent.stored_data.label("after"), PersonalData.body.label("personal"),
        ).join(Case, Case.id == CaseEvent.case_id).outerjoin(PersonalData, PersonalData.id == CaseEvent.personal_data_id),
        "record": select(
            RecordEvent.at, literal_column("'record'", String).label("kind"), RecordEvent.id, RecordEvent.actor_id,
            RecordEvent.trigger.label("action"), literal_column("'record'", String).label("object_type"),
            RecordEvent.record_id.label("object_id"), no_text.label("object_label"),
            RecordEvent.from_state, RecordEvent.to_state, RecordEvent.stored_reason.label("reason"),
            no_json.label("before"), RecordEvent.stored_data.label("after"), PersonalData.body.label("personal"),
        ).outerjoin(PersonalData, PersonalData.id == RecordEvent.personal_data_id),
    }
    return union_all(*(branches[kind] for kind in kinds)).subquery("timeline")


def _actor_id(username: str) -> int | None:
    return db.session.scalar(select(User.id).where(func.lower(User.username) == username.strip().lower()))


def _case_id(number: str) -> int | None:
    return db.session.scalar(select(Case.id).where(Case.number == number))


def _query(filters: AuditFilter):
    """The filtered timeline, newest first, with the actors' names; None when nothing can match."""
    kinds = (filters.kind,) if filters.kind else KINDS
    ref = filters.object
    if ref and ref.object_type and ref.object_type not in ("case", "record"):
        kinds = tuple(k for k in kinds if k == "admin")  # only admins change users, departments ...
    if not kinds:
        return None
    timeline = _timeline(kinds)
    stmt = (
        select(timeline, User.username.label("actor_username"), User.display_name.label("actor_name"))
        .outerjoin(User, User.id == timeline.c.actor_id)
        .order_by(timeline.c.at.desc(), timeline.c.kind.desc(), timeline.c.id.desc())
    )
    if filters.actor:
        actor_id = _actor_id(filters.actor)
        if actor_id is None:
            return None
        stmt = stmt.where(timeline.c.actor_id == actor_id)
    if ref is not None:
        if ref.text is not None:
            like = f"%{ref.text}%"
            stmt = stmt.where(or_(func.lower(timeline.c.object_type).like(like),
                                  func.lower(timeline.c.object_label).like(like)))
        else:
            object_id = ref.object_id if ref.case_number is None else _case_id(ref.case_number)
            if object_id is None:
                return None
            stmt = stmt.where(timeline.c.object_type == ref.object_type, timeline.c.object_id == object_id)
    if filters.day_from:
        stmt = stmt.where(timeline.c.at >= clock.start_of_day(filters.day_from))
    if filters.day_to:
        stmt = stmt.where(timeline.c.at < clock.start_of_day(filters.day_to + timedelta(days=1)))
    return stmt, timeline


def _masked_json(value: dict | list | None) -> str | None:
    return None if value is None else scrub(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def _entry(row) -> AuditEntry:
    personal = row.personal or {}
    reason = merge(row.reason, personal.get("reason"))
    after = merge(row.after, personal.get("after" if row.kind == "admin" else "data"))
    return AuditEntry(
        at=row.at, kind=row.kind, id=row.id, actor_id=row.actor_id, actor_username=row.actor_username,
        actor_name=scrub(row.actor_name) if row.actor_name else None, action=row.action,
        object_type=row.object_type, object_id=row.object_id, object_label=row.object_label,
        from_state=row.from_state, to_state=row.to_state, reason=scrub(reason) if reason else None,
        before=_masked_json(merge(row.before, personal.get("before"))), after=_masked_json(after),
    )


def search_audit(filters: AuditFilter, after: AuditCursor | None = None,
                 limit: int = PAGE_SIZE) -> tuple[list[AuditEntry], AuditCursor | None]:
    """One page of the timeline after ``after``; returns (entries, cursor of the next page)."""
    built = _query(filters)
    if built is None:
        return [], None
    stmt, timeline = built
    if after is not None:
        stmt = stmt.where(tuple_(timeline.c.at, timeline.c.kind, timeline.c.id) < (after.at, after.kind, after.id))
    rows = [_entry(row) for row in db.session.execute(stmt.limit(limit + 1))]
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].cursor
    return rows, None


CSV_HEADER = [_l("Time"), _l("Kind"), _l("Account"), _l("Name"), _l("Action"), _l("Object type"), _l("Object no."),
              _l("Object (name or number)"), _l("From"), _l("To"), _l("Reason"), _l("Before"), _l("After")]


def export_audit_csv(filters: AuditFilter, limit: int = EXPORT_LIMIT) -> Iterator[str]:
    """The filtered timeline as CSV text (``app.csv_export``: no cell runs as a formula, a BOM
    for spreadsheets), read by keyset ``EXPORT_CHUNK`` rows at a time, so memory stays flat
    however long the trail."""
    return csv_export.stream(CSV_HEADER, _export_rows(filters, limit), chunk=EXPORT_CHUNK)


def _export_rows(filters: AuditFilter, limit: int) -> Iterator[tuple]:
    after, written = None, 0
    while written < limit:
        entries, after = search_audit(filters, after, min(EXPORT_CHUNK, limit - written))
        for e in entries:
            states = "record_state" if e.kind == "record" else "case_state"
            yield (clock.local(e.at).strftime("%Y-%m-%d %H:%M:%S"), label("audit_kind", e.kind),
                   e.actor_username or label("actor", "system"), e.actor_name or "",
                   label("admin_action" if e.kind == "admin" else "trigger", e.action), label("object_type", e.object_type),
                   e.object_id,
                   e.object_label or "", label(states, e.from_state) if e.from_state else "",
                   label(states, e.to_state) if e.to_state else "", e.reason or "", e.before or "", e.after or "")
        written += len(entries)
        if after is None:
            return
    yield (f"# stopped after {limit} rows: narrow the filters",)
