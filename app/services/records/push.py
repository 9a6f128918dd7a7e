"""Records a department pushes through the API: all valid and stored, or none.

Each item is checked like a row of an import file. A record already provided (the same
decision number) is left alone if identical; changed facts, sanction, kinds, class or decision
date correct it while it is in publicity (``lifecycle.correct_record``: a new version with the
same event as every other correction), and are refused after. The API speaks English: the
refusals here are plain text, like the API's own.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import Conflict, InvalidInput
from app.extensions import db
from app.models import CreditRecord, Department
from app.services.records.imports import check_row, insert_records
from app.services.records.lifecycle import API, check_corrections, correct_record
from app.services.transaction import use_case

MAX_ERRORS = 1000  # reported per push; the first ones say enough
CONCURRENT = "A record of this push was created by a concurrent request meanwhile; retry the push."


@dataclass(frozen=True)
class PushResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class InvalidRecords(InvalidInput):
    """Some pushed records are not valid; ``errors`` says which: ``{"index", "field", "message"}``."""

    def __init__(self, errors: list[dict]):
        super().__init__("Some records are not valid; none was stored.")
        self.errors = errors


@use_case
def push_records(department: Department, items: list) -> PushResult:
    """Store the pushed records (JSON objects of text fields) in one transaction, or none of them.

    Raises InvalidRecords (every item checked first) or Conflict (a changed record that left
    publicity, or concurrent pushes that kept taking this one's new numbers); nothing is stored then.
    """
    errors, clean_rows, seen, today = [], [], set(), clock.today()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": index, "field": "", "message": "must be an object"})
            continue
        # The API versions a record by its decision number: no "action" column as in an import.
        row = {k: ("" if v is None else str(v)).strip() for k, v in item.items() if k != "action"}
        clean, problems = check_row(row, seen, lambda number: False, today)
        errors += [{"index": index, "field": f, "message": str(m)} for f, m in problems]
        clean_rows.append(clean)
    if errors:
        raise InvalidRecords(errors[:MAX_ERRORS])
    # The records already provided, looked up by the numbers as checked (stripped, cut to 100):
    # looked up by the raw text, "罚1号 " missed "罚1号" and its insert broke the unique key (a 500).
    rows = list(enumerate(clean_rows))
    updated, unchanged, new = _apply(rows, _existing(department, [c["decision_number"] for _, c in rows]))
    try:
        created = _insert(new, department)
    except IntegrityError:
        # A push of the same new number (or subject) committed between the lookup and the insert
        # (PostgreSQL held this insert on the unique key until then): look once more, and answer as
        # the later of two sequential pushes would ("unchanged", "updated"). The first insert ran in
        # a savepoint, so what this push corrected before it still stands.
        more_updated, more_unchanged, new = _apply(new, _existing(department, [c["decision_number"] for _, c in new]))
        updated, unchanged = updated + more_updated, unchanged + more_unchanged
        try:
            created = _insert(new, department)
        except IntegrityError:
            raise Conflict(CONCURRENT) from None
    db.session.commit()
    return PushResult(created=created, updated=updated, unchanged=unchanged)


def _existing(department: Department, numbers: list[str]) -> dict[str, CreditRecord]:
    """Step: the department's records with these decision numbers, by number."""
    return {r.decision_number: r for r in db.session.scalars(
        select(CreditRecord).where(CreditRecord.department_id == department.id,
                                   CreditRecord.decision_number.in_(numbers)))}


def _apply(rows: list[tuple[int, dict]], existing: dict[str, CreditRecord]) -> tuple[int, int, list]:
    """Step: the rows of records already provided left alone or corrected; returns the counts
    (updated, unchanged) and the other rows (index, row), still to insert."""
    updated = unchanged = 0
    new = []
    for index, clean in rows:
        old = existing.get(clean["decision_number"])
        if old is None:
            new.append((index, clean))
            continue
        # The same correction step as the objection's decision, the record page and the import.
        fields = {name: clean[name] for name in ("facts", "sanction", "sanction_kinds", "severity", "decision_date")}
        try:
            changes = check_corrections(old, fields)
        except InvalidInput as error:
            raise InvalidRecords([{"index": index, "field": "", "message": str(error)}]) from None
        if not changes:
            unchanged += 1
        elif old.in_publicity:
            correct_record(old, changes, None, "pushed again with changes", source=API)
            updated += 1
        else:
            raise Conflict(f"{old.decision_number} is no longer in publicity and cannot change.")
    return updated, unchanged, new


def _insert(rows: list[tuple[int, dict]], department: Department) -> int:
    """Step: the new rows inserted in a savepoint, so that a unique violation undoes only them."""
    if not rows:
        return 0
    with db.session.begin_nested():
        return insert_records([clean for _, clean in rows], department)
