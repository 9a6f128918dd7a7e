"""The demo data set is realistic: valid identifiers, records in every phase, minors withheld."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app import clock, identifiers
from app.models import Case, CaseEvent, CreditRecord, Department, RecordEvent, Subject, User
from app.models.enums import RecordClass, RecordState, Role
from app.services.accounts import check_password
from app.services.admin.demo import DEMO_ACCOUNTS, AlreadySeeded, seed_demo


@pytest.fixture
def seeded(db):
    with clock.frozen_clock(datetime(2026, 11, 25, 9, 0)):
        counts = seed_demo()
    return counts


def test_counts(seeded, db):
    assert seeded["departments"] >= 3 and seeded["subjects"] == 200 and seeded["records"] == 1000
    assert db.session.scalar(select(func.count()).select_from(CreditRecord)) == 1000


def test_every_identifier_is_valid(seeded, db):
    kinds = set()
    for subject in db.session.scalars(select(Subject)):
        parsed = identifiers.validate(subject.identifier, subject.kind)
        kinds.add(parsed.kind)
    assert kinds == {"legal", "natural"}


def test_records_cover_every_phase(seeded, db):
    today = datetime(2026, 11, 25).date()
    records = db.session.scalars(select(CreditRecord)).all()
    assert {r.severity for r in records} == set(RecordClass)
    retired = [r for r in records if r.state == RecordState.RETIRED]
    in_publicity = [r for r in records if r.state == RecordState.PUBLISHED]
    repairable = [r for r in in_publicity if r.shortest_publicity_end < today]
    fresh = [r for r in in_publicity if r.shortest_publicity_end >= today]
    assert retired and repairable and fresh
    assert all(r.publicity_end < today for r in retired)
    assert all(r.publicity_end >= today for r in in_publicity)
    decided = sorted(r.decision_date for r in records)
    assert (decided[-1] - decided[0]).days > 2 * 365


def test_records_of_minors_are_never_public(seeded, db):
    minors = [
        r
        for r in db.session.scalars(select(CreditRecord).join(Subject).where(Subject.birth_date.is_not(None)))
        if (r.decision_date.year - r.subject.birth_date.year) < 17
    ]
    assert minors, "the demo set should contain records about minors"
    assert all(not r.is_public and r.withheld_reason == "minor_subject" for r in minors)


def test_each_record_has_its_history(seeded, db):
    from workflows import RECORD

    for record in db.session.scalars(select(CreditRecord)):
        events = db.session.scalars(
            select(RecordEvent).where(RecordEvent.record_id == record.id).order_by(RecordEvent.seq)
        ).all()
        assert events[0].trigger == "publish"
        state = events[0].to_state
        for event in events[1:]:
            assert RECORD.find(state, event.trigger).dest == event.to_state
            state = event.to_state
        assert state == record.state


def test_one_account_per_role_with_its_password(seeded, db):
    users = {u.username: u for u in db.session.scalars(select(User))}
    assert {u.role for u in users.values()} == set(Role)
    for account in DEMO_ACCOUNTS:
        assert check_password(users[account.username], account.password)
    own = db.session.scalar(
        select(func.count()).select_from(CreditRecord).where(CreditRecord.subject_id == users["applicant"].subject_id)
    )
    assert own >= 3  # the demo applicant has something to look at


def test_cases_in_several_states_with_their_history(seeded, db):
    from app.models.enums import IN_PUBLICITY
    from app.services.sla.timers import open_timers
    from workflows import CASE_WORKFLOWS

    cases = db.session.scalars(select(Case)).all()
    assert len({c.kind for c in cases}) == 3
    assert len({(c.kind, c.state) for c in cases}) >= 6
    for case in cases:
        assert case.number[:2] in ("YY", "TS", "XF")
        events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)).all()
        assert events[0].trigger == "submit" and events[-1].to_state == case.state
        state = CASE_WORKFLOWS[case.kind].state(case.state)
        assert (case.due_at is not None) == bool(state.clocks) and not state.pauses or case.due_at is not None
        assert bool(open_timers(case)) == bool(state.clocks)
    revoked = [c for c in cases if c.outcome == "revoke"]
    assert revoked and revoked[0].record.state == RecordState.REVOKED
    referred = [c for c in cases if c.state == "referred"]
    assert referred and referred[0].record.under_objection and referred[0].record.state in IN_PUBLICITY


def test_refuses_to_seed_twice(seeded):
    with pytest.raises(AlreadySeeded):
        seed_demo()


def test_departments_have_contacts(seeded, db):
    assert all(d.contact_email for d in db.session.scalars(select(Department)))


# Columns that hold a moment still to come by their nature: a deadline, a lease, a next try.
_FUTURE_BY_NATURE = {"due_at", "due_soon_at", "expires_at", "locked_until", "next_attempt_at"}


@pytest.mark.parametrize("loaded_at", [datetime(2026, 12, 1, 7, 30), datetime(2026, 12, 1, 23, 50)])
def test_nothing_in_the_demo_is_dated_after_the_moment_it_is_loaded(db, loaded_at):
    """Loaded early in the morning, the demo once held a case submitted at 10:00 that day, and
    records published up to nine working days after a decision taken three days ago."""
    with clock.frozen_clock(loaded_at):
        seed_demo()
        now = clock.now().astimezone(UTC).replace(tzinfo=None)
    later = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            kind = str(column.type).upper()
            if column.name in _FUTURE_BY_NATURE or not ("DATETIME" in kind or "TIMESTAMP" in kind):
                continue
            latest = db.session.scalar(select(func.max(column)))
            if latest is not None and _utc(latest) > now:
                later.append(f"{table.name}.{column.name} = {latest}")
    assert later == [], f"dated after {now}: {later}"
    assert db.session.scalar(select(func.max(CreditRecord.decision_date))) <= loaded_at.date()


def _utc(moment: datetime) -> datetime:
    """Stored moments are UTC: aware ones as such, naive ones (SQLite) by convention."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
