"""State rules that live in the database: append-only audit, CHECK constraints, UTC instants."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from app import clock
from app.models import AdminAudit, Case, CaseEvent, RecordEvent, User
from app.models.enums import CaseKind, Role
from app.services.cases.submission import next_case_number
from app.services.policy import get_policy_in_force
from tests.factories import make_department, make_record, make_subject, make_user


def _make_case(db, record, applicant) -> Case:
    case = Case(
        number=next_case_number(CaseKind.OBJECTION, 2026),
        kind=CaseKind.OBJECTION,
        state="submitted",
        subject_id=record.subject_id,
        record=record,
        applicant=applicant,
        policy_version=get_policy_in_force().version,
        title="t",
        statement="s",
    )
    db.session.add(case)
    db.session.flush()
    return case


@pytest.mark.parametrize("statement", ["UPDATE {t} SET reason = 'rewritten'", "DELETE FROM {t}"])
def test_audit_tables_refuse_updates_and_deletes(db, statement):
    record = make_record()
    applicant = make_user(Role.APPLICANT, subject=record.subject)
    case = _make_case(db, record, applicant)
    db.session.add(CaseEvent(case_id=case.id, seq=1, trigger="submit", to_state="submitted"))
    db.session.add(RecordEvent(record_id=record.id, seq=1, trigger="publish", to_state="published"))
    db.session.flush()
    for table in ("case_event", "record_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.session.begin_nested():
                db.session.execute(sa.text(statement.format(t=table)))


@pytest.mark.parametrize("statement", ["UPDATE admin_audit SET action = 'rewritten'", "DELETE FROM admin_audit"])
@pytest.mark.parametrize("by_the_system", [False, True])
def test_the_admin_audit_refuses_updates_and_deletes(db, statement, by_the_system):
    """Also after migration 0011 rebuilt the table on SQLite to let the system be the actor."""
    admin = make_user(Role.ADMIN)
    db.session.add(AdminAudit(actor_id=None if by_the_system else admin.id, action="calendar.import",
                              object_type="calendar", object_id=None, before=None, after={"x": 1}))
    db.session.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(sa.text(statement))


def test_event_sequence_is_unique_per_case(db):
    record = make_record()
    case = _make_case(db, record, make_user(Role.APPLICANT, subject=record.subject))
    db.session.add(CaseEvent(case_id=case.id, seq=1, trigger="submit", to_state="submitted"))
    db.session.flush()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(CaseEvent(case_id=case.id, seq=1, trigger="accept", to_state="accepted"))
        db.session.flush()


@pytest.mark.parametrize(
    "binding",
    [
        {"role": Role.APPLICANT},  # an applicant without a subject
        {"role": Role.DEPARTMENT},  # a department user without a department
        {"role": Role.OFFICER, "with_subject": True},  # staff bound to a subject
    ],
)
def test_account_binding_must_match_the_role(db, binding):
    subject = make_subject() if binding.get("with_subject") else None
    user = User(username="x-binding", display_name="x", password_hash="x", role=binding["role"], subject=subject)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(user)
        db.session.flush()


def test_record_dates_must_be_ordered(db):
    record = make_record()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        record.publicity_end = record.shortest_publicity_end - timedelta(days=1)
        db.session.flush()


def test_instants_come_back_aware_in_utc(db):
    department = make_department(created_at=datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))))
    db.session.expire(department)
    assert department.created_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert department.created_at.tzinfo is not None


def test_naive_instants_are_refused(db):
    with pytest.raises(Exception, match="naive"), db.session.begin_nested():
        make_department(created_at=datetime(2026, 1, 1, 8, 0))


def test_case_numbers_run_per_kind_and_year(db):
    assert next_case_number(CaseKind.REPAIR, 2031) == "XF-2031-000001"
    assert next_case_number(CaseKind.REPAIR, 2031) == "XF-2031-000002"
    assert next_case_number(CaseKind.OBJECTION, 2031) == "YY-2031-000001"
    assert next_case_number(CaseKind.REPAIR, 2032) == "XF-2032-000001"


def test_optimistic_lock_refuses_a_stale_write(db, app):
    """Two sessions load one record; the second write loses with StaleDataError."""
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    from app.models import CreditRecord

    record = make_record()
    other = Session(bind=db.session.connection())
    stale = other.get(CreditRecord, record.id)
    record.facts = "first writer"
    record.version += 1  # as every service does once per use case
    db.session.flush()
    stale.facts = "second writer"
    stale.version += 1
    with pytest.raises(StaleDataError):
        other.flush()
    other.close()


def test_clock_moves_only_when_told():
    with clock.frozen_clock(datetime(2026, 2, 14, 23, 59)) as frozen:
        assert clock.today().isoformat() == "2026-02-14"
        frozen.advance(timedelta(minutes=2))
        assert clock.today().isoformat() == "2026-02-15"
        assert clock.now() == datetime(2026, 2, 15, 0, 1, tzinfo=clock.PLATFORM_TZ)
