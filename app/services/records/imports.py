"""Import of records from CSV or XLSX: every row validated, the whole file or nothing.

Two passes over the file, both streaming (``import_files.read_rows``, within the IMPORT_*
limits): the first validates every row and collects a per-row report (nothing is written),
stopping after IMPORT_MAX_ERRORS problems; the second, only if the first found nothing wrong,
inserts the rows in chunks inside one transaction. Memory holds the decision numbers seen (to
catch duplicates) and the subjects met, not the file. ``FileImport`` holds the two passes as
steps, for ``import_records`` (the request, the CLI) and the background run
(``admin.import_runs``), which commits the first pass's progress as it goes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import insert, select, update

from app import clock, csv_export, identifiers
from app.errors import InvalidInput
from app.extensions import db
from app.models import CreditRecord, Department, RecordEvent, Subject, SubjectNameMismatch, User
from app.models.enums import NameMismatchOrigin, RecordCategory, RecordClass, SubjectNameSource
from app.models.record import EARLIEST_DECISION_DATE
from app.services.calendar import get_working_calendar
from app.services.policy import compute_record_dates, get_policy_in_force
from app.services.records.bulk import store
from app.services.records.entry import published_late
from app.services.records.import_files import (
    COLUMNS,
    REQUIRED,
    ImportLimits,
    UnreadableFile,
    column_heading,
    inspect_file,
    read_rows,
)
from app.services.records.lifecycle import (
    IMPORT,
    NOTHING_TO_CORRECT,
    SANCTION_KINDS,
    check_corrections,
    correct_record,
)
from app.services.transaction import use_case
from workflows import RECORD, RecordTrigger

CHUNK = 5000
PROGRESS_EVERY = 5000  # rows checked between two progress reports of a background run

CATEGORY_ALIASES = {"行政处罚信息": "administrative_penalty", "行政处罚": "administrative_penalty",
                    "严重失信主体名单": "serious_dishonesty_list", "经营异常名录": "abnormal_operation_list",
                    "其他失信信息": "other", "其他": "other"}
SEVERITY_ALIASES = {"轻微": "minor", "一般": "general", "严重": "serious"}
SECTORS = {"", "special_equipment", "work_safety", "fire"}
# The action of a correcting row is the record workflow's own trigger: what the row does to it.
NEW, CORRECT = "new", str(RecordTrigger.CORRECT)
ACTION_ALIASES = {"": NEW, "new": NEW, "新增": NEW, CORRECT: CORRECT, "更正": CORRECT}


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    corrected: int = 0  # rows whose action is ``correct``: new versions of records already provided
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)
    truncated: bool = False  # the check stopped at the error limit; its last line says so

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_csv(self) -> str:
        return errors_csv(self.errors)


def errors_csv(errors) -> str:
    """The report as CSV (``app.csv_export``: with a BOM, for Excel; a message quoting the file's own
    cell, such as an unknown category ``=HYPERLINK(...)``, is not run as a formula): row, column, error."""
    return csv_export.text([_("Row"), _("Column"), _("Problem")],
                           ((row or "", column_heading(column), message) for row, column, message in errors))


def template_csv() -> str:
    """An empty file to fill in: the header row, every column, optional ones too, with the
    Chinese headings a department's staff know (the code names for an English reader)."""
    return csv_export.text([column_heading(name) for name in COLUMNS], [])


def allowed_values() -> list[tuple[str, list[tuple[str, tuple[str, ...]]]]]:
    """What the coded columns accept, for the import page: (column, [(code, other spellings)])."""
    def spellings(aliases: dict[str, str], code: str) -> tuple[str, ...]:
        return tuple(alias for alias, meant in aliases.items() if meant == code and alias not in ("", code))

    return [
        ("category", [(c.value, spellings(CATEGORY_ALIASES, c.value)) for c in RecordCategory]),
        ("severity", [(c.value, spellings(SEVERITY_ALIASES, c.value)) for c in RecordClass]),
        ("sanction_kinds", [(kind, ()) for kind in sorted(SANCTION_KINDS)]),
        ("sector", [(sector, ()) for sector in sorted(SECTORS) if sector]),
        ("action", [(code, spellings(ACTION_ALIASES, code)) for code in (NEW, CORRECT)]),
    ]


def check_row(row: dict[str, str], seen: set[str], existing, today: date,
              identify=identifiers.validate) -> tuple[dict, list[tuple[str, str]]]:
    errors, clean = [], {}
    for name in REQUIRED:
        if not (row.get(name) or "").strip():  # spaces alone are no value
            errors.append((name, _("This field is required.")))
    if row.get("identifier"):
        try:
            clean["identifier"] = identify(row["identifier"])
        except identifiers.InvalidIdentifier as error:
            errors.append(("identifier", str(error)))
    category = CATEGORY_ALIASES.get(row.get("category", ""), row.get("category", ""))
    if row.get("category") and category not in {c.value for c in RecordCategory}:
        errors.append(("category", _("Unknown category: %(value)s", value=row["category"][:40])))
    severity = SEVERITY_ALIASES.get(row.get("severity", ""), row.get("severity", ""))
    if row.get("severity") and severity not in {c.value for c in RecordClass}:
        errors.append(("severity", _("The class must be minor, general or serious (轻微, 一般, 严重).")))
    if row.get("decision_date"):
        try:
            decided = date.fromisoformat(row["decision_date"][:10])
            if decided > today:
                errors.append(("decision_date", _("The decision date is in the future.")))
            elif decided < EARLIEST_DECISION_DATE:
                errors.append(("decision_date", _(
                    "The decision date is implausibly early: decisions before %(day)s are not accepted.",
                    day=EARLIEST_DECISION_DATE.isoformat())))
            clean["decision_date"] = decided
        except ValueError:
            errors.append(("decision_date", _("Not a date; use YYYY-MM-DD.")))
    clean["measure_until"] = None
    if (row.get("measure_until") or "").strip():
        try:
            clean["measure_until"] = date.fromisoformat(row["measure_until"].strip()[:10])
        except ValueError:
            errors.append(("measure_until", _("Not a date; use YYYY-MM-DD.")))
    action = ACTION_ALIASES.get((row.get("action") or "").strip().lower())
    if action is None:
        errors.append(("action", _("The action is empty for a new record, or correct (更正) for a new version of one "
                                   "already provided.")))
    clean["action"] = action or NEW
    number = row.get("decision_number", "")[:100]
    if number:
        if number in seen:
            errors.append(("decision_number", _("This decision number appears twice in the file.")))
        elif action == CORRECT and not existing(number):
            errors.append(("decision_number", _("Your department has no record with this decision number to correct.")))
        elif action != CORRECT and existing(number):
            errors.append(("decision_number", _("Your department has already provided a record with this decision "
                                                "number; to correct it, put correct in the action column.")))
        seen.add(number)
    kinds = [k.strip() for k in row.get("sanction_kinds", "").replace("；", ";").split(";") if k.strip()]
    unknown = [k for k in kinds if k not in SANCTION_KINDS]
    if unknown:
        errors.append(("sanction_kinds", _("Unknown kinds of sanction: %(value)s", value=", ".join(unknown)[:80])))
    if row.get("sector", "") not in SECTORS:
        errors.append(("sector", _("Unknown sector: %(value)s", value=row["sector"][:40])))
    clean.update(
        subject_name=row.get("subject_name", "")[:200], category=category, severity=severity,
        decision_number=number, facts=row.get("facts", "")[:4000], sanction=row.get("sanction", "")[:2000],
        sanction_kinds=kinds, sector=row.get("sector") or None,
        publish_minor=row.get("publish_minor", "").lower() in ("1", "true", "yes", "是"),
    )
    return clean, errors


@use_case
def import_records(path: Path, department: Department, actor_id: int | None = None,
                   limits: ImportLimits | None = None) -> ImportReport:
    """Validate the whole file, then import it in one transaction, or nothing at all."""
    limits = limits or ImportLimits.from_config()
    try:
        budget = inspect_file(path, limits)
    except UnreadableFile as error:
        return ImportReport(errors=[(0, "", str(error))])
    job = FileImport(path, department, limits, budget)
    if job.check().ok:
        job.store(actor_id)
        db.session.commit()
    return job.report


class FileImport:
    """One file's import as two steps (no commit): ``check`` every row, then ``store`` them all
    if none failed. ``budget``: the inflated bytes each reading may spend (an XLSX's declared
    size, found by ``inspect_file``: the zip may not inflate more than it said)."""

    def __init__(self, path: Path, department: Department, limits: ImportLimits, budget: int | None = None) -> None:
        self.path, self.department, self.limits, self.budget = path, department, limits, budget
        self.report = ImportReport()
        self.today = clock.today()
        self.existing = set(db.session.scalars(
            select(CreditRecord.decision_number).where(CreditRecord.department_id == department.id)))
        # A file names each subject many times and is read twice: each identifier is checked once.
        self.met: dict[str, identifiers.Identifier] = {}

    def _identify(self, raw: str) -> identifiers.Identifier:
        if raw not in self.met:
            self.met[raw] = identifiers.validate(raw)
        return self.met[raw]

    def _rows(self):
        return read_rows(self.path, self.limits, self.budget)

    def check(self, progress: Callable[[ImportReport], None] | None = None,
              every: int = PROGRESS_EVERY) -> ImportReport:
        """The first pass: every row checked, the problems reported; the reading stops at the
        error limit. ``progress`` is called every ``every`` rows."""
        report, seen, limit = self.report, set(), self.limits.max_errors
        rows = self._rows()
        try:
            for number, row, problems in rows:
                report.rows += 1
                clean, errors = check_row(row, seen, self.existing.__contains__, self.today, self._identify)
                errors = problems + errors
                if not errors and clean["action"] == CORRECT:
                    errors = _check_correction(clean, self.department)
                report.errors.extend((number, column, message) for column, message in errors)
                if len(report.errors) >= limit:
                    del report.errors[limit:]
                    report.truncated = True
                    report.errors.append((0, "", _("Stopped after %(n)d errors, at row %(row)d: correct these and "
                                                   "upload the file again.", n=limit, row=number)))
                    break
                if progress is not None and report.rows % every == 0:
                    progress(report)
        except UnreadableFile as error:
            report.errors.append((0, "", str(error)))
        finally:
            rows.close()
        if report.rows == 0 and not report.errors:
            report.errors.append((0, "", _("The file has no data rows.")))
        return report

    def store(self, actor_id: int | None) -> ImportReport:
        """The second pass, after a ``check`` that found nothing: every row inserted (the new
        records set-based, the corrections one by one), in the caller's transaction."""
        assert self.report.ok and self.report.rows, "store() follows a check() that passed"
        department = self.department
        cleaned = (check_row(row, set(), self.existing.__contains__, self.today, self._identify)[0]
                   for _number, row, _problems in self._rows())
        corrections: list[dict] = []
        self.report.imported = insert_records(_new_rows(cleaned, corrections), department, actor_id)
        actor = db.session.get(User, actor_id) if actor_id else None
        for clean in corrections:  # few, and each its own version: one by one
            correct_record(_record_numbered(department, clean["decision_number"]), _corrected_fields(clean), actor,
                           "import", source=IMPORT)
        self.report.corrected = len(corrections)
        return self.report


def _new_rows(cleaned, corrections: list[dict]):
    """The rows of new records; the ``correct`` rows are put aside in ``corrections``."""
    for clean in cleaned:
        if clean["action"] == CORRECT:
            corrections.append(clean)
        else:
            yield clean


def _record_numbered(department: Department, number: str) -> CreditRecord:
    return db.session.scalar(select(CreditRecord).where(
        CreditRecord.department_id == department.id, CreditRecord.decision_number == number))


def _corrected_fields(clean: dict) -> dict:
    return {name: clean[name] for name in ("facts", "sanction", "sanction_kinds", "severity", "decision_date")}


def _check_correction(clean: dict, department: Department) -> list[tuple[str, str]]:
    """A ``correct`` row against the record it corrects: the same subject and category, in
    publicity, and changing something."""
    record = _record_numbered(department, clean["decision_number"])
    if record.subject.identifier != clean["identifier"].value:
        return [("identifier", _("A correction cannot change whom the record is about; revoke it and provide a new one."))]
    if record.category != clean["category"]:
        return [("category", _("A correction cannot change the category; revoke the record and provide a new one."))]
    if not record.in_publicity:
        return [("action", _("The record is no longer in publicity: it can no longer be corrected or revoked."))]
    try:
        changes = check_corrections(record, _corrected_fields(clean))
    except InvalidInput as error:
        return [("action", str(error))]
    return [] if changes else [("action", str(NOTHING_TO_CORRECT))]


def insert_records(rows, department: Department, actor_id: int | None = None) -> int:
    """Step: insert checked rows (from ``check_row``) in chunks, set-based; the caller commits
    (``import_records``, ``push.push_records``). PostgreSQL: ``COPY`` of the subjects, records
    and events, their ids reserved from the sequences first; SQLite: multi-row ``INSERT``s."""
    policy = get_policy_in_force()
    now = clock.now()
    subjects: dict[str, int] = {}
    chunk: list[dict] = []
    inserted = 0
    for clean in rows:
        chunk.append(clean)
        if len(chunk) >= CHUNK:
            inserted += insert_chunk(chunk, department, policy, subjects, now, actor_id)
            chunk = []
    if chunk:
        inserted += insert_chunk(chunk, department, policy, subjects, now, actor_id)
    return inserted


def _note_names(rows: list[dict], ids: list[int], known: dict[str, tuple[int, str, str]], department) -> None:
    """The names the file gives for subjects the platform knew: a claimed name gives way, another
    name is kept beside the platform's and flagged (``accounts.subjects.note_subject_name``, set-based)."""
    claimed: dict[int, str] = {}
    flags: dict[tuple[int, str], dict] = {}
    for r, record_id in zip(rows, ids, strict=True):
        if r["identifier"].value not in known:
            continue
        subject_id, name, source = known[r["identifier"].value]
        given = r["subject_name"].strip()
        if source == SubjectNameSource.CLAIMED:
            claimed.setdefault(subject_id, given)
        elif given != name:
            flags.setdefault((subject_id, given), {
                "subject_id": subject_id, "known_name": name, "given_name": given,
                "origin": NameMismatchOrigin.DEPARTMENT, "department_id": department.id, "record_id": record_id,
                "raised_at": clock.now()})
    if claimed:
        db.session.execute(update(Subject), [
            {"id": subject_id, "name": name, "name_source": SubjectNameSource.DEPARTMENT}
            for subject_id, name in claimed.items()])
    if flags:
        already = set(db.session.execute(select(SubjectNameMismatch.subject_id, SubjectNameMismatch.given_name).where(
            SubjectNameMismatch.subject_id.in_({key[0] for key in flags}),
            SubjectNameMismatch.origin == NameMismatchOrigin.DEPARTMENT, SubjectNameMismatch.resolved_at.is_(None))))
        fresh = [values for key, values in flags.items() if key not in already]
        if fresh:
            db.session.execute(insert(SubjectNameMismatch), fresh)


# The columns of a new record besides its id and subject, in the order ``record_values`` gives.
RECORD_COLUMNS = (
    "department_id", "category", "severity", "decision_number", "decision_date", "facts", "sanction",
    "sanction_kinds", "sector", "measure_until", "is_public", "withheld_reason", "publicity_start",
    "shortest_publicity_end", "publicity_end", "policy_version", "state", "under_objection", "published_at",
    "version", "created_at", "updated_at", "published_late",
)
SUBJECT_COLUMNS = ("kind", "identifier", "name", "name_source", "birth_date", "created_at")
EVENT_COLUMNS = ("record_id", "seq", "at", "actor_id", "trigger", "from_state", "to_state", "reason")


def record_values(r: dict, department, policy, now, calendar, memo: dict | None = None) -> dict:
    """A new record's columns (``RECORD_COLUMNS``) for a checked row: its dates under the policy.

    ``memo`` (one dict per insert) keeps the dates and lateness computed for each distinct set of
    inputs: a file has many rows and few distinct decision days."""
    memo = {} if memo is None else memo
    ident = r["identifier"]
    minor = ident.birth_date is not None and (
        r["decision_date"].year - ident.birth_date.year
        - ((r["decision_date"].month, r["decision_date"].day) < (ident.birth_date.month, ident.birth_date.day))
    ) < 18
    inputs = (r["severity"], r["decision_date"], r["sector"], r["publish_minor"], minor, tuple(r["sanction_kinds"]))
    dates = memo.get(inputs)
    if dates is None:
        dates = memo[inputs] = compute_record_dates(
            policy.body, r["severity"], r["decision_date"], sector=r["sector"], publish_minor=r["publish_minor"],
            subject_is_minor=minor, sanction_kinds=r["sanction_kinds"])
    late = memo.get(r["decision_date"])
    if late is None:
        late = memo[r["decision_date"]] = published_late(policy.body, r["decision_date"], now, calendar)
    return {
        "department_id": department.id, "category": r["category"], "severity": r["severity"],
        "decision_number": r["decision_number"], "decision_date": r["decision_date"], "facts": r["facts"],
        "sanction": r["sanction"], "sanction_kinds": r["sanction_kinds"], "sector": r["sector"],
        "measure_until": r.get("measure_until"), "is_public": dates.is_public, "withheld_reason": dates.withheld_reason,
        "publicity_start": dates.publicity_start, "shortest_publicity_end": dates.shortest_publicity_end,
        "publicity_end": dates.publicity_end, "policy_version": policy.version, "state": _INITIAL,
        "under_objection": False, "published_at": now, "version": 1, "created_at": now, "updated_at": now,
        "published_late": late,
    }


def insert_chunk(rows: list[dict], department, policy, subjects: dict[str, int], now, actor_id) -> int:
    """One chunk: its new subjects, its records, their names noted, their events."""
    wanted = {r["identifier"].value for r in rows} - subjects.keys()
    known: dict[str, tuple[int, str, str]] = {}
    if wanted:
        known = {identifier: (id_, name, source) for identifier, id_, name, source in db.session.execute(
            select(Subject.identifier, Subject.id, Subject.name, Subject.name_source)
            .where(Subject.identifier.in_(wanted))
        )}
        subjects.update({identifier: id_ for identifier, (id_, _, _) in known.items()})
        created: dict[str, tuple] = {}
        for r in rows:
            ident = r["identifier"]
            if ident.value not in subjects and ident.value not in created:
                created[ident.value] = (str(ident.kind), ident.value, r["subject_name"], _DEPARTMENT_NAME,
                                        ident.birth_date, now)
        if created:
            subjects.update(zip(created, store(Subject, SUBJECT_COLUMNS, list(created.values()), "identifier"),
                                strict=True))
    calendar, memo = get_working_calendar(), {}
    records = [(subjects[r["identifier"].value], *record_values(r, department, policy, now, calendar, memo).values())
               for r in rows]
    ids = store(CreditRecord, ("subject_id", *RECORD_COLUMNS), records, "decision_number")
    _note_names(rows, ids, known, department)
    store(RecordEvent, EVENT_COLUMNS, [(i, 1, now, actor_id, "publish", None, _INITIAL, "import") for i in ids])
    return len(ids)


_INITIAL = str(RECORD.initial)
_DEPARTMENT_NAME = str(SubjectNameSource.DEPARTMENT)
