"""Retire records whose publicity has ended (DESIGN section 6).

Set-based: each batch is one statement that picks the due records, retires them, writes their
events and returns what the notices need (PostgreSQL: a data-modifying CTE with
``FOR UPDATE SKIP LOCKED``; SQLite, which serialises writers anyway: three statements). In
the same transaction as the batch: one digest notice per department listing its retired
records and a notice to each subject's accounts. (Open cases on retired records are closed by
``cases.close_cases_on_retired_records``, level-triggered, right after: the ``expire`` job runs
both.) Run twice, or on two hosts, each record is retired once and each notice
written once; after downtime the next run catches up on everything due.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, select, text

from app import clock
from app.extensions import db
from app.models import CreditRecord, SubjectBinding, User
from app.models.base import UTCDateTime
from app.services.notices.outbox import enqueue
from app.services.records.lifecycle import BULK_EVENTS, sql_names
from app.services.transaction import use_case
from workflows import GRANTS_ACCESS, IN_PUBLICITY, RECORD, RecordTrigger

BATCH_SIZE = 10_000
RETIRE_REASON = "publicity period ended"

_EXPIRE = RecordTrigger.EXPIRE
_RETIRED = RECORD.dest(_EXPIRE)
_DUE = f"state IN ({sql_names(IN_PUBLICITY)}) AND publicity_end < :today"

_RETIRE_POSTGRES = text(
    f"""
    WITH due AS (
        SELECT id, state AS old_state FROM credit_record
        WHERE {_DUE}
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    ),
    retired AS (
        UPDATE credit_record AS r
        SET state = '{_RETIRED}', retired_at = :now, updated_at = :now, version = r.version + 1
        FROM due WHERE r.id = due.id
        RETURNING r.id, r.department_id, r.subject_id, r.decision_number, r.under_objection, due.old_state
    ),
    events AS (
        INSERT INTO record_event (record_id, seq, at, trigger, from_state, to_state, reason)
        SELECT retired.id,
               COALESCE((SELECT max(e.seq) FROM record_event e WHERE e.record_id = retired.id), 0) + 1,
               :now, '{_EXPIRE}', retired.old_state, '{_RETIRED}', :reason
        FROM retired
    )
    SELECT id, department_id, subject_id, decision_number, under_objection FROM retired
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

# No ORDER BY: any due rows will do, and sorting every due row again for each batch would
# make a large catch-up quadratic.
_PICK_SQLITE = text(f"SELECT id FROM credit_record WHERE {_DUE} LIMIT :batch")
_UPDATE_SQLITE = text(
    f"""
    UPDATE credit_record SET state = '{_RETIRED}', retired_at = :now, updated_at = :now, version = version + 1
    WHERE id IN :ids
    RETURNING id, department_id, subject_id, decision_number, under_objection
    """
).bindparams(bindparam("ids", expanding=True), bindparam("now", type_=UTCDateTime()))


@dataclass
class ExpiryResult:
    retired: int = 0
    batches: int = 0
    departments_told: int = 0
    cases_closed: int = 0  # filled in by the expire job, which closes them right after
    record_ids: list[int] = field(default_factory=list)


def list_due_records(today: date | None = None, limit: int | None = None) -> list[CreditRecord]:
    """What a run would retire now (for the dry run), oldest publicity end first."""
    today = today or clock.today()
    stmt = (
        select(CreditRecord)
        .where(CreditRecord.state.in_(IN_PUBLICITY), CreditRecord.publicity_end < today)
        .order_by(CreditRecord.publicity_end, CreditRecord.id)
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


@use_case
def retire_expired_records(
    batch_size: int = BATCH_SIZE,
    keep_ids: bool = False,
    after_batch: Callable[[int], None] | None = None,
) -> ExpiryResult:
    """Retire every record whose publicity end has passed, batch by batch, each batch committed.

    A record's publicity end is the last day it is public: it retires from the next day on.
    ``after_batch`` is called after each batch's statement, before its commit (tests use it to
    kill the process mid-batch and show that nothing half-done survives).
    """
    result = ExpiryResult()
    while True:
        now = clock.now()
        rows = _retire_batch(now, clock.today(), batch_size)
        if not rows:
            db.session.rollback()
            return result
        db.session.expire_all()  # the statement changed rows behind the ORM's back
        result.batches += 1
        result.retired += len(rows)
        if keep_ids:
            result.record_ids.extend(r.id for r in rows)
        result.departments_told += _write_notices(rows, now)
        if after_batch is not None:
            after_batch(len(rows))
        db.session.commit()
        if len(rows) < batch_size:
            return result


def _retire_batch(now: datetime, today: date, batch_size: int):
    params = {"today": today, "now": now, "batch": batch_size, "reason": RETIRE_REASON}
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.execute(_RETIRE_POSTGRES, params).all()
    ids = db.session.scalars(_PICK_SQLITE, params).all()
    if not ids:
        return []
    db.session.execute(BULK_EVENTS, {**params, "ids": ids, "trigger": str(_EXPIRE), "to_state": _RETIRED})
    return db.session.execute(_UPDATE_SQLITE, {**params, "ids": ids}).all()


def _write_notices(rows, now: datetime) -> int:
    """One digest per department for this batch, and a notice to each subject's accounts."""
    by_department: dict[int, list] = defaultdict(list)
    for row in rows:
        by_department[row.department_id].append(row)
    first = min(r.id for r in rows)
    for department_id, retired in by_department.items():
        enqueue(
            f"records-retired:{department_id}:{first}:{len(rows)}",
            "records_retired",
            {"count": len(retired), "records": [r.decision_number for r in retired[:500]],
             "more": max(0, len(retired) - 500)},
            department_id=department_id,
        )
    _notify_subjects(now)
    return len(by_department)


def _notify_subjects(now: datetime) -> None:
    """Tell the subject's accounts (most subjects have none) that a record left publicity.

    Driven from the accounts, which are few, to the records this batch retired (stamped with
    this batch's instant), so no list of the batch's ids travels to the database.
    """
    pairs = db.session.execute(
        select(User.id, CreditRecord.id, CreditRecord.decision_number)
        .join(CreditRecord, CreditRecord.subject_id == User.subject_id)
        # Only accounts verified for the subject hear of its records (an unverified one is a stranger).
        .join(SubjectBinding, (SubjectBinding.user_id == User.id) & (SubjectBinding.subject_id == User.subject_id)
              & SubjectBinding.state.in_(GRANTS_ACCESS))
        .where(
            User.is_active.is_(True),
            CreditRecord.state == _RETIRED,
            CreditRecord.retired_at == now,
        )
    ).all()
    for user_id, record_id, decision_number in pairs:
        enqueue(
            f"record-retired:{record_id}:user{user_id}", "record_retired",
            {"record": decision_number}, user_id=user_id,
        )
