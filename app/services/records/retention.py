"""Retention: personal data past its retention period really goes (DESIGN sections 6 and 9, issue 13).

Three passes, each set-based per batch and committed per batch, like the expiry sweep
(``erasure`` says what each erases and when):

1. records that left publicity (retired, repaired or revoked) more than the policy's retention
   period ago (``retention_after_retirement``, 5 years) keep their skeleton and whole audit
   trail, but their facts and sanction text and their events' personal data are cleared, and
   they move to the final state ``purged``;
2. cases closed more than the same period ago lose their statement, texts, evidence files and
   their events' personal data, whether or not their subject stays;
3. subjects that nothing keeps any more (records purged, cases erased, nobody acting for them)
   lose their name and identifier, with their bindings and the accounts that named them.

Then the stored files that no row points to and that are older than ``STORAGE_ORPHAN_GRACE``
go (``uploads.discard_orphans``: what a rolled-back submission wrote to local or S3 storage).

The audit tables stay append-only throughout: the personal data they point to is blanked in
``personal_data`` (``app.models.personal``), never in them. Run twice, or on two hosts at once,
each row is erased once (``SKIP LOCKED`` batches; each pass picks only what is not erased yet).
"""
from __future__ import annotations

from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import String, bindparam, cast, func, null, or_, select, text, update

from app import clock
from app.extensions import db
from app.models import CreditRecord, ImportRun
from app.models.base import UTCDateTime
from app.models.personal import ERASED
from app.services import uploads
from app.services.calendar import parse_period
from app.services.policy import get_policy_in_force
from app.services.records.erasure import (
    cases_to_erase,
    erase_cases,
    erase_record_events,
    erase_subjects,
    subjects_to_erase,
)
from app.services.records.lifecycle import BULK_EVENTS
from app.services.transaction import use_case
from workflows import RECORD, RecordTrigger

PURGED_TEXT = ERASED
_UNITS = {"y": "years", "m": "months", "d": "days"}

_PURGED = RECORD.dest(RecordTrigger.PURGE)
_PURGE = text(
    f"""
    UPDATE credit_record
    SET state = '{_PURGED}', purged_at = :now, updated_at = :now, version = version + 1,
        facts = :cleared, sanction = :cleared
    WHERE id IN :ids
    """
).bindparams(bindparam("ids", expanding=True), bindparam("now", type_=UTCDateTime()))


@dataclass
class PurgeResult:
    purged: int = 0  # records
    batches: int = 0
    cases_erased: int = 0
    subjects_erased: int = 0
    files_deleted: int = 0
    orphan_files_deleted: int = 0  # stored files no row points to, left by rolled-back transactions
    # Filled in by the purge job: its housekeeping steps (signup, accounts, ``clear_old_import_reports``).
    sign_up_requests: int = 0
    sessions: int = 0  # ended or expired over SESSION_RECORD_RETENTION ago, deleted
    two_factor_challenges: int = 0  # pending second-factor sign-ins expired as long ago, deleted
    sign_in_attempts: int = 0  # older than SIGN_IN_ATTEMPT_RETENTION, deleted
    import_reports: int = 0  # import runs finished over IMPORT_RUN_RETENTION ago whose report was cleared


@use_case
def purge_expired_personal_data(batch_size: int = 1000) -> PurgeResult:
    """Purge every record, case and subject whose retention has ended (commits per batch)."""
    body = get_policy_in_force().body
    n, unit = parse_period(body.get("retention_after_retirement", "5y"))
    # What ended before this instant is past retention today.
    cutoff = clock.start_of_day(clock.today() - relativedelta(**{_UNITS[unit]: n}))
    result = PurgeResult()
    for pick, erase in ((_records_to_purge, _purge_records), (cases_to_erase, _erase_cases),
                        (subjects_to_erase, _erase_subjects)):
        after = 0
        while True:
            ids = pick(cutoff, after, batch_size)
            if not ids:
                db.session.rollback()
                break
            erase(ids, clock.now(), result)
            db.session.commit()
            db.session.expire_all()
            result.batches += 1
            after = ids[-1]
            if len(ids) < batch_size:
                break
    result.orphan_files_deleted = uploads.discard_orphans()
    db.session.commit()
    return result


def _records_to_purge(cutoff, after_id: int, limit: int) -> list[int]:
    left_at = func.coalesce(CreditRecord.retired_at, CreditRecord.updated_at)
    return list(db.session.scalars(
        select(CreditRecord.id)
        .where(CreditRecord.id > after_id, CreditRecord.state.in_(RECORD.sources(RecordTrigger.PURGE)),
               left_at < cutoff)
        .order_by(CreditRecord.id).limit(limit).with_for_update(skip_locked=True)
    ))


def _purge_records(ids: list[int], now, result: PurgeResult) -> None:
    params = {"ids": ids, "now": now, "reason": "retention period ended", "cleared": PURGED_TEXT}
    db.session.execute(BULK_EVENTS, {**params, "trigger": str(RecordTrigger.PURGE), "to_state": _PURGED})
    db.session.execute(_PURGE, params)
    erase_record_events(ids, now)
    result.purged += len(ids)


def _erase_cases(ids: list[int], now, result: PurgeResult) -> None:
    result.files_deleted += erase_cases(ids, now)
    result.cases_erased += len(ids)


def _erase_subjects(ids: list[int], now, result: PurgeResult) -> None:
    result.files_deleted += erase_subjects(ids, now)
    result.subjects_erased += len(ids)


def clear_old_import_reports() -> int:
    """A step: clear the report (``errors``: rows, columns, the values quoted in the messages)
    and the failure text of the import runs finished more than ``IMPORT_RUN_RETENTION`` ago;
    how many. The run itself stays (who, when, how many rows), for the department's history."""
    cutoff = clock.now() - current_app.config["IMPORT_RUN_RETENTION"]
    # An empty report may be stored as JSON ``null`` rather than SQL NULL: that is no report either.
    has_report = func.coalesce(cast(ImportRun.errors, String), "null") != "null"
    return db.session.execute(
        update(ImportRun)
        .where(ImportRun.finished_at < cutoff, or_(has_report, ImportRun.error.isnot(None)))
        .values(errors=null(), error=None).execution_options(synchronize_session=False)
    ).rowcount
