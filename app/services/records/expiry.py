"""Retire records whose publicity has ended (DESIGN section 6).

Set-based: each batch is one statement that picks the due records, retires them, writes their
events and returns what the notices need (PostgreSQL: a data-modifying CTE with
``FOR UPDATE SKIP LOCKED``; SQLite, which serialises writers anyway: three statements). A run
of the job is an ``ExpiryRun``, stamped on every record it retires (``retired_in_run``).

Notices, in the same transaction as each batch: a notice to the accounts of the batch's own
records' subjects (so a catch-up stays linear, however many batches share one instant), and one
digest per department for the whole run, however many batches: it carries the count and a link
to the run's page in the department console (every record, a CSV download; the e-mail attaches
the CSV). The digest is written by the run's first batch that touches the department and
updated by the later ones, held back from the dispatcher until the run ends (or, should the run
die between batches, until ``DIGEST_HOLD`` has passed: it then counts what was committed).
(Open cases on retired records are closed by ``cases.close_cases_on_retired_records``,
level-triggered, right after: the ``expire`` job runs both.) Run twice, or on two hosts, each
record is retired once and each notice written once; after downtime the next run catches up
on everything due.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, insert, select, text, update

from app import clock
from app.extensions import db
from app.models import CreditRecord, ExpiryRun, Notification, SubjectBinding, User
from app.models.base import UTCDateTime
from app.models.enums import NotificationStatus
from app.services.notices.outbox import enqueue, subscriptions_for
from app.services.records.lifecycle import BULK_EVENTS, sql_names
from app.services.transaction import use_case
from workflows import GRANTS_ACCESS, IN_PUBLICITY, RECORD, RecordTrigger

BATCH_SIZE = 10_000
RETIRE_REASON = "publicity period ended"
DIGEST = "records_retired"
# How long a run's digests wait for its later batches; a batch takes seconds.
DIGEST_HOLD = timedelta(minutes=30)
SUBJECTS_PER_QUERY = 5_000  # subject ids per account look-up (an IN list)
# SQLite has one writer: a batch holds the write lock of the whole database, so there batches are
# small (a fraction of a second) and the sweep pauses after each commit for longer than a waiting
# connection's busy-handler sleeps (100 ms at most), so the web's writes, and its reads, which
# take the lock too (``BEGIN IMMEDIATE``), get in between instead of waiting out the busy timeout.
SQLITE_BATCH_SIZE = 1_000
SQLITE_PAUSE_SECONDS = 0.15

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
        SET state = '{_RETIRED}', retired_at = :now, retired_in_run = :run, updated_at = :now,
            version = r.version + 1
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
    UPDATE credit_record SET state = '{_RETIRED}', retired_at = :now, retired_in_run = :run, updated_at = :now,
                             version = version + 1
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
    subjects_told: int = 0  # notices of records leaving soon, written by the expire job after (``ahead``)
    run_id: int | None = None  # the ExpiryRun, when anything retired
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
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    if sqlite:
        batch_size = min(batch_size, SQLITE_BATCH_SIZE)
    counts: Counter[int] = Counter()  # records retired in this run, per department
    keys: dict[int, list[str]] = {}  # the keys of each department's digest rows
    last = False
    while True:
        now = clock.now()
        if result.run_id is None:  # the run exists once its first batch commits
            result.run_id = db.session.execute(
                insert(ExpiryRun).values(started_at=now).returning(ExpiryRun.id)).scalar_one()
        rows = _retire_batch(now, clock.today(), batch_size, result.run_id)
        if not rows:
            db.session.rollback()
            break
        db.session.expire_all()  # the statement changed rows behind the ORM's back
        result.batches += 1
        result.retired += len(rows)
        if keep_ids:
            result.record_ids.extend(r.id for r in rows)
        _write_notices(rows, result.run_id, counts, keys, now)
        last = len(rows) < batch_size
        if last:  # the run ends with this batch: its digests go with it
            _release_digests(result.run_id, counts, keys, now)
        if after_batch is not None:
            after_batch(len(rows))
        db.session.commit()
        if last:
            break
        if sqlite:
            time.sleep(SQLITE_PAUSE_SECONDS)
    if not result.retired:
        result.run_id = None
    elif not last:  # the last batch was full: the next one found nothing
        _release_digests(result.run_id, counts, keys, clock.now())
        db.session.commit()
    result.departments_told = len(counts)
    return result


def _retire_batch(now: datetime, today: date, batch_size: int, run_id: int):
    params = {"today": today, "now": now, "batch": batch_size, "reason": RETIRE_REASON, "run": run_id}
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.execute(_RETIRE_POSTGRES, params).all()
    ids = db.session.scalars(_PICK_SQLITE, params).all()
    if not ids:
        return []
    db.session.execute(BULK_EVENTS, {**params, "ids": ids, "trigger": str(_EXPIRE), "to_state": _RETIRED})
    return db.session.execute(_UPDATE_SQLITE, {**params, "ids": ids}).all()


def digest_key(department_id: int, run_id: int) -> str:
    return f"records-retired:{department_id}:run{run_id}"


def retired_page_path(run_id: int) -> str:
    """Where the department console lists a run's retired records (``web.dept.retired``)."""
    return f"/dept/retired/{run_id}"


def _write_notices(rows, run_id: int, counts: Counter, keys: dict[int, list[str]], now: datetime) -> None:
    """The run's digest of each department in this batch, written or brought up to date (two
    statements for all of them); and a notice to the accounts of this batch's subjects."""
    batch = Counter(row.department_id for row in rows)
    later: dict[str, dict] = {}  # key of a digest row -> the payload it now carries
    for department_id, n in batch.items():
        counts[department_id] += n
        payload = {"count": counts[department_id], "run": run_id, "link": retired_page_path(run_id)}
        if counts[department_id] == n:  # the department's first batch in this run
            enqueue(digest_key(department_id, run_id), DIGEST, payload, department_id=department_id,
                    not_before=now + DIGEST_HOLD)
            keys[department_id] = _digest_keys(department_id, run_id)
        else:
            later.update(dict.fromkeys(keys[department_id], payload))
    if later:
        _update_digests(later, now + DIGEST_HOLD)
    _notify_subjects(rows)


def _digest_keys(department_id: int, run_id: int) -> list[str]:
    """The keys of a digest's rows: the inbox's, the e-mail's, and a webhook's per subscription
    (the LIKE this avoids would read the whole outbox)."""
    key = digest_key(department_id, run_id)
    return [key, f"{key}:email", *(f"{key}:webhook:{s.id}" for s in subscriptions_for(department_id, DIGEST))]


def _update_digests(payloads: dict[str, dict], hold_until: datetime) -> None:
    pending = db.session.execute(
        select(Notification.id, Notification.key, Notification.payload).where(
            Notification.key.in_(list(payloads)), Notification.status == NotificationStatus.PENDING)
    ).all()
    if pending:  # a webhook row keeps its own fields (its subscription)
        db.session.execute(update(Notification), [
            {"id": id_, "payload": {**old, **payloads[key]}, "next_attempt_at": hold_until}
            for id_, key, old in pending])


def _release_digests(run_id: int, counts: Counter, keys: dict[int, list[str]], now: datetime) -> None:
    """The run is over: its digests go out now, and the run records what it did."""
    db.session.execute(
        update(Notification)
        .where(Notification.key.in_([key for each in keys.values() for key in each]),
               Notification.status == NotificationStatus.PENDING)
        .values(next_attempt_at=now)
    )
    db.session.execute(update(ExpiryRun).where(ExpiryRun.id == run_id)
                       .values(finished_at=now, retired=sum(counts.values())))


def _notify_subjects(rows) -> None:
    """Tell the accounts of this batch's subjects (most subjects have none) that a record left
    publicity: the accounts of the batch's own subjects, looked up by subject id, so a batch
    costs the same however many batches came before it (a catch-up stamps them all with one
    instant)."""
    by_subject: dict[int, list] = defaultdict(list)
    for row in rows:
        by_subject[row.subject_id].append(row)
    subject_ids = list(by_subject)
    for start in range(0, len(subject_ids), SUBJECTS_PER_QUERY):
        accounts = db.session.execute(
            select(User.id, User.subject_id)
            # Only accounts verified for the subject hear of its records (an unverified one is a stranger).
            .join(SubjectBinding, (SubjectBinding.user_id == User.id) & (SubjectBinding.subject_id == User.subject_id)
                  & SubjectBinding.state.in_(GRANTS_ACCESS))
            .where(User.is_active.is_(True), User.subject_id.in_(subject_ids[start:start + SUBJECTS_PER_QUERY]))
        ).all()
        for user_id, subject_id in accounts:
            for row in by_subject[subject_id]:
                enqueue(f"record-retired:{row.id}:user{user_id}", "record_retired",
                        {"record": row.decision_number}, user_id=user_id)
