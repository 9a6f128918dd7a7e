"""What the expiry job retired, for the department that provided it: a run's page of records (the
digest's link), the same list as CSV (a download, and the digest e-mail's attachment, made when
it is sent), and the records retired since an instant (the API's ``retired_since``)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import clock, csv_export
from app.errors import NotFound
from app.extensions import db
from app.labels import label
from app.models import CreditRecord, ExpiryRun, Notification
from app.services.notices.delivery import ATTACHMENTS
from app.services.records.expiry import DIGEST

PAGE = 100
CSV_CHUNK = 5_000
CSV_COLUMNS = (_l("Record no."), _l("Decision number"), _l("Category"), _l("Class"), _l("Decision date"),
               _l("End of publicity"), _l("Retired at"))


@dataclass(frozen=True)
class RetiredPage:
    run: ExpiryRun
    count: int  # the department's records retired in the run
    records: list[CreditRecord]
    next_after: int | None  # the ``after`` of the next page; None on the last


def _of_run(department_id: int, run_id: int):
    return (CreditRecord.retired_in_run == run_id) & (CreditRecord.department_id == department_id)


def get_retired_page(department_id: int, run_id: int, after: int = 0, limit: int = PAGE) -> RetiredPage:
    """One keyset page of the department's records the run retired, in id order. NotFound when
    the run retired none of the department's (another department's run is as good as absent)."""
    run = db.session.get(ExpiryRun, run_id)
    count = db.session.scalar(select(func.count()).select_from(CreditRecord).where(_of_run(department_id, run_id)))
    if run is None or not count:
        raise NotFound()
    rows = db.session.scalars(
        select(CreditRecord).options(selectinload(CreditRecord.subject))
        .where(_of_run(department_id, run_id), CreditRecord.id > after)
        .order_by(CreditRecord.id).limit(limit + 1)
    ).all()
    page = list(rows[:limit])
    return RetiredPage(run, count, page, page[-1].id if len(rows) > limit else None)


def iter_retired_csv(department_id: int, run_id: int) -> Iterator[str]:
    """The department's records the run retired, as CSV text (``app.csv_export``: a BOM first,
    for spreadsheets), read in keyset chunks so that memory does not grow with the list. No
    personal data: the decision number is the department's own reference."""
    return csv_export.stream(CSV_COLUMNS, _retired_rows(department_id, run_id), chunk=CSV_CHUNK)


def _retired_rows(department_id: int, run_id: int) -> Iterator[tuple]:
    after = 0
    while True:
        rows = db.session.execute(
            select(CreditRecord.id, CreditRecord.decision_number, CreditRecord.category, CreditRecord.severity,
                   CreditRecord.decision_date, CreditRecord.publicity_end, CreditRecord.retired_at)
            .where(_of_run(department_id, run_id), CreditRecord.id > after)
            .order_by(CreditRecord.id).limit(CSV_CHUNK)
        ).all()
        if not rows:
            return
        yield from ((number, decision, label("category", category), label("severity", severity), decided, end,
                     clock.local(retired).strftime("%Y-%m-%d %H:%M:%S"))
                    for number, decision, category, severity, decided, end, retired in rows)
        after = rows[-1][0]


def retired_csv_name(run_id: int) -> str:
    return f"retired-records-run{run_id}.csv"


def _digest_attachment(notice: Notification) -> tuple[str, bytes] | None:
    """The digest e-mail's attachment: every record its run retired for its department."""
    run_id, department_id = notice.payload.get("run"), notice.recipient_department_id
    if not isinstance(run_id, int) or department_id is None:
        return None  # a digest written before runs were kept names its records itself
    return retired_csv_name(run_id), "".join(iter_retired_csv(department_id, run_id)).encode("utf-8")


ATTACHMENTS[DIGEST] = _digest_attachment


def list_retired_since(department_id: int, since: datetime, after: int = 0,
                       limit: int = 100) -> tuple[list[CreditRecord], int | None]:
    """The department's records retired at or after ``since``, by id, one keyset page after the
    id ``after``; and the ``after`` of the next page (None on the last one). A record purged
    since keeps the time it retired."""
    rows = db.session.scalars(
        select(CreditRecord).where(CreditRecord.department_id == department_id, CreditRecord.retired_at >= since,
                                   CreditRecord.id > after)
        .order_by(CreditRecord.id).limit(limit + 1)
    ).all()
    page = list(rows[:limit])
    return page, page[-1].id if len(rows) > limit else None
