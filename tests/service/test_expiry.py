"""Records retire when their publicity ends: once each, with events, digests and closed cases."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.models import Case, CreditRecord, Notification, RecordEvent
from app.models.enums import CaseKind, RecordClass, RecordState, Role
from app.services.admin.jobs import expire_job
from app.services.records import get_retired_page
from app.services.records.expiry import list_due_records, retire_expired_records
from tests.factories import act, make_department, make_record, make_subject, make_user, submit


@pytest.fixture
def records(db):
    """Records of two departments decided after 2026-04-01 (so not under the legacy 3-year rule):
    general ones end a year later (2027-04-10 ... 2027-11-01), serious ones three years later."""
    departments = [make_department(), make_department()]
    subject = make_subject()
    made = []
    for i, decided in enumerate([date(2026, 4, 10), date(2026, 5, 20), date(2026, 6, 1), date(2026, 8, 1),
                                 date(2026, 10, 1), date(2026, 11, 1)]):
        for severity in (RecordClass.GENERAL, RecordClass.SERIOUS):
            made.append(make_record(subject=subject, department=departments[i % 2], severity=severity,
                                    decision_date=decided))
    return made


def _retired(db):
    return db.session.scalars(select(CreditRecord).where(CreditRecord.state == RecordState.RETIRED)).all()


def test_retires_exactly_those_whose_publicity_ended(db, records):
    with clock.frozen_clock(datetime(2027, 6, 1, 3, 0)):
        expected = {r.id for r in records if r.publicity_end < date(2027, 6, 1)}
        assert {r.id for r in list_due_records()} == expected
        result = retire_expired_records(batch_size=2)
    assert result.retired == len(expected) == 2 and result.batches == 1
    assert {r.id for r in _retired(db)} == expected
    for record in _retired(db):
        assert clock.local(record.retired_at) == datetime(2027, 6, 1, 3, 0, tzinfo=clock.PLATFORM_TZ)
        event = db.session.scalars(select(RecordEvent).where(RecordEvent.record_id == record.id)).one()
        assert (event.trigger, event.from_state, event.to_state) == ("expire", "published", "retired")


def test_the_last_day_of_publicity_is_still_public(db, records):
    ends_today = [r for r in records if r.publicity_end == date(2027, 6, 1)]
    assert ends_today
    with clock.frozen_clock(datetime(2027, 6, 1, 23, 59)):
        retire_expired_records()
    assert all(r.state == RecordState.PUBLISHED for r in ends_today)
    with clock.frozen_clock(datetime(2027, 6, 2, 0, 0)):
        retire_expired_records()
    db.session.expire_all()
    assert all(r.state == RecordState.RETIRED for r in ends_today)


def test_running_twice_changes_nothing_the_second_time(db, records):
    with clock.frozen_clock(datetime(2027, 9, 1, 3, 0)):
        first = retire_expired_records(batch_size=3)
        notices = db.session.scalar(select(func.count()).select_from(Notification))
        events = db.session.scalar(select(func.count()).select_from(RecordEvent))
        second = retire_expired_records(batch_size=3)
    assert first.retired > 0 and second.retired == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == notices
    assert db.session.scalar(select(func.count()).select_from(RecordEvent)) == events


def test_each_department_gets_a_digest_listing_its_records(db, records):
    with clock.frozen_clock(datetime(2027, 9, 1, 3, 0)):
        result = retire_expired_records()
    digests = db.session.scalars(select(Notification).where(Notification.template == "records_retired")).all()
    assert len(digests) == result.departments_told == 2
    listed = Counter()
    for digest in digests:
        mine = [r for r in _retired(db) if r.department_id == digest.recipient_department_id]
        page = get_retired_page(digest.recipient_department_id, digest.payload["run"])  # the digest's link
        assert sorted(r.decision_number for r in page.records) == sorted(r.decision_number for r in mine)
        assert digest.payload["count"] == page.count == len(mine)
        listed[digest.recipient_department_id] += digest.payload["count"]
    assert sum(listed.values()) == result.retired


def test_after_400_days_of_downtime_exactly_the_due_records_retire_once(db, records):
    with clock.frozen_clock(datetime(2027, 5, 1, 3, 0)) as frozen:
        assert retire_expired_records().retired == 1
        frozen.advance(timedelta(days=400))
        due = {r.id for r in records if r.state == RecordState.PUBLISHED and r.publicity_end < clock.today()}
        result = retire_expired_records(batch_size=4)
    assert result.retired == len(due) and result.batches >= 2
    per_record = Counter(db.session.scalars(select(RecordEvent.record_id).where(RecordEvent.trigger == "expire")))
    assert set(per_record.values()) == {1}
    assert {r.id for r in _retired(db)} >= due


def test_open_objections_and_repairs_on_a_retired_record_are_closed(db):
    subject, department = make_subject(), make_department()
    applicant, officer = make_user(Role.APPLICANT, subject=subject), make_user(Role.OFFICER)
    record = make_record(subject=subject, department=department, decision_date=date(2026, 4, 5))
    with clock.frozen_clock(datetime(2027, 3, 22, 10, 0)):
        objection = submit(applicant, CaseKind.OBJECTION, record)
        act(objection, "accept", officer)
        assert record.under_objection
    with clock.frozen_clock(datetime(2027, 4, 6, 3, 0)):
        result = expire_job()
    assert result.cases_closed == 1
    db.session.refresh(objection)
    assert objection.state == "closed" and objection.closed_at is not None
    assert record.state == RecordState.RETIRED and not record.under_objection
    triggers = db.session.scalars(
        select(RecordEvent.trigger).where(RecordEvent.record_id == record.id).order_by(RecordEvent.seq)
    ).all()
    assert triggers == ["mark_objection", "expire", "clear_objection"]
    applicant_notices = db.session.scalars(
        select(Notification.template).where(Notification.recipient_user_id == applicant.id)
    ).all()
    assert "record_retired" in applicant_notices


def test_dry_run_cli_lists_and_changes_nothing(app, db, records):
    result = app.test_cli_runner().invoke(args=["sweep", "expire", "--now", "2027-06-01T03:00", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "retired 0"
    assert not _retired(db)
    due = [line for line in lines if "\t" in line]
    assert due and len(due) == int(lines[-2].split()[-1])


def test_cli_retires_and_ends_with_the_count(app, db, records):
    result = app.test_cli_runner().invoke(args=["sweep", "expire", "--now", "2027-06-01T03:00", "--allow-future"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"retired {len(_retired(db))}"
    bad = app.test_cli_runner().invoke(args=["sweep", "expire", "--now", "next tuesday"])
    assert bad.exit_code == 2 and "ISO-8601" in bad.output


def test_a_sweep_as_of_a_later_instant_commits_only_when_asked(app, db, records):
    """``--now`` in the future was a rehearsal that retired real records (issue 17): it is
    refused unless ``--dry-run`` (above) or ``--allow-future``; a past instant (catch-up) runs."""
    runner = app.test_cli_runner()
    for command in (["sweep", "expire"], ["sweep", "sla"]):
        refused = runner.invoke(args=[*command, "--now", "2027-06-01T03:00"])
        assert refused.exit_code == 2 and "--dry-run" in refused.output, refused.output
    assert not _retired(db)
    past = runner.invoke(args=["sweep", "expire", "--now", "2026-01-01T03:00"])
    assert past.exit_code == 0 and past.output.strip().splitlines()[-1] == "retired 0", past.output


def test_cases_are_untouched_by_the_sweep_when_nothing_is_due(db, records):
    with clock.frozen_clock(datetime(2027, 1, 1, 3, 0)):
        assert retire_expired_records().retired == 0
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
