"""Retention: personal data of records that left publicity long ago is removed (DESIGN section 6).

A record retired (or repaired, or revoked) more than the policy's retention period ago keeps
its skeleton and its whole audit trail, but its facts and sanction text are cleared and it
moves to the final state ``purged``. Set-based per batch, like the expiry sweep.
"""
from __future__ import annotations

from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, func, select, text

from app import clock
from app.extensions import db
from app.models import CreditRecord
from app.models.base import UTCDateTime
from app.services.calendar import parse_period
from app.services.policy import get_policy_in_force
from app.services.records.lifecycle import BULK_EVENTS
from app.services.transaction import use_case
from workflows import RECORD, RecordTrigger

PURGED_TEXT = "[已清除]"
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
    purged: int = 0
    batches: int = 0
    sign_up_requests: int = 0  # filled in by the purge job (signup.purge_sign_up_requests)


@use_case
def purge_expired_personal_data(batch_size: int = 1000) -> PurgeResult:
    """Purge every record whose retention after leaving publicity has ended."""
    body = get_policy_in_force().body
    n, unit = parse_period(body.get("retention_after_retirement", "5y"))
    today = clock.today()
    # Records that left publicity before this instant are past retention today.
    cutoff = clock.start_of_day(today - relativedelta(**{_UNITS[unit]: n}))
    left_at = func.coalesce(CreditRecord.retired_at, CreditRecord.updated_at)
    result = PurgeResult()
    while True:
        ids = list(
            db.session.scalars(
                select(CreditRecord.id)
                .where(CreditRecord.state.in_(RECORD.sources(RecordTrigger.PURGE)), left_at < cutoff)
                .order_by(CreditRecord.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            db.session.rollback()
            return result
        now = clock.now()
        params = {"ids": ids, "now": now, "reason": "retention period ended", "cleared": PURGED_TEXT}
        db.session.execute(BULK_EVENTS, {**params, "trigger": str(RecordTrigger.PURGE), "to_state": _PURGED})
        db.session.execute(_PURGE, params)
        db.session.commit()
        db.session.expire_all()
        result.purged += len(ids)
        result.batches += 1
        if len(ids) < batch_size:
            return result


