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

from app import clock
from app.errors import Conflict, InvalidInput
from app.extensions import db
from app.models import CreditRecord, Department
from app.services.records.imports import check_row, insert_records
from app.services.records.lifecycle import API, check_corrections, correct_record
from app.services.transaction import use_case

MAX_ERRORS = 1000  # reported per push; the first ones say enough


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
    publicity); nothing is stored then.
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
    existing = {r.decision_number: r for r in db.session.scalars(
        select(CreditRecord).where(CreditRecord.department_id == department.id,
                                   CreditRecord.decision_number.in_([c["decision_number"] for c in clean_rows]))
    )}

    updated = unchanged = 0
    new = []
    for index, clean in enumerate(clean_rows):
        old = existing.get(clean["decision_number"])
        if old is None:
            new.append(clean)
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
    created = insert_records(new, department)
    db.session.commit()
    return PushResult(created=created, updated=updated, unchanged=unchanged)
