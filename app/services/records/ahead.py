"""Subjects told ahead: a verified account hears ``RETIREMENT_NOTICE_WORKING_DAYS`` working days
before one of its subject's records leaves publicity (the day after its last day in publicity,
when the expiry job retires it), and the portal shows that day on each record.

Set-based, run by the expire job: one ``INSERT ... SELECT`` of the notices (the fan-out of
``notices.bulk``), driven from the accounts verified for a subject (few) to their subjects'
records in publicity whose day comes within the lead. The key names the record and its last
day, so a later run writes nothing new, and a record whose publicity end moves (a correction,
a new policy) is announced again for its new day.
"""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import bindparam, text

from app import clock
from app.extensions import db
from app.models.base import UTCDateTime
from app.services.calendar import get_working_calendar
from app.services.notices import bulk
from app.services.records.lifecycle import sql_names
from app.services.transaction import use_case
from workflows import GRANTS_ACCESS, IN_PUBLICITY

TEMPLATE = "record_leaving_soon"


def announce_horizon(today: date, lead: int) -> date:
    """Records whose last day is before this day leave publicity within ``lead`` working days."""
    return get_working_calendar().add_working_days(today, lead)


def _notices(dialect: str) -> str:
    """(key, payload, user_id, department_id) of the records to announce, one per account."""
    build = "json_build_object" if dialect == "postgresql" else "json_object"
    leaves = "(r.publicity_end + 1)" if dialect == "postgresql" else "date(r.publicity_end, '+1 day')"
    return (
        "SELECT 'record-leaving:' || r.id || ':' || CAST(r.publicity_end AS TEXT) || '\\:user' || u.id AS key, "
        f"{build}('record', r.decision_number, 'leaves_on', CAST({leaves} AS TEXT)) AS payload, "
        "u.id AS user_id, CAST(NULL AS INTEGER) AS department_id "
        "FROM subject_binding AS b JOIN user_account AS u ON u.id = b.user_id AND u.subject_id = b.subject_id "
        "JOIN credit_record AS r ON r.subject_id = b.subject_id "
        f"WHERE b.state IN ({sql_names(GRANTS_ACCESS)}) AND u.is_active "
        f"AND r.state IN ({sql_names(IN_PUBLICITY)}) AND r.publicity_end >= :today AND r.publicity_end < :horizon"
    )


@use_case
def tell_subjects_ahead() -> int:
    """Write the notices of records leaving publicity within the lead, in one transaction; the
    number of new ones (the expire job runs it after the retirements)."""
    lead = int(current_app.config["RETIREMENT_NOTICE_WORKING_DAYS"])
    if lead <= 0:
        return 0
    now, today = clock.now(), clock.today()
    params = {"today": today, "horizon": announce_horizon(today, lead), "now": now, "next_attempt": now}
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = text(
            f"WITH notices AS ({_notices(dialect)}){bulk.postgres_ctes(TEMPLATE, 'notices', departments=False)} "
            "SELECT count(*) FROM inbox"
        ).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("next_attempt", type_=UTCDateTime()))
        written = db.session.execute(statement, params).scalar_one()
    else:
        written = bulk.sqlite_enqueue(TEMPLATE, _notices(dialect), params, departments=False)
    db.session.commit()
    return written
