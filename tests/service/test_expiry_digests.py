"""One expiry digest per department per run, however many batches, naming every retired record
(issue 16, item 6): the count and a link in the notice, the run's page and CSV in the department
console, the CSV attached to the e-mail, ``retired_since`` in the API; and a catch-up whose
batches each cost the same, however many came before."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from app import clock
from app.models import CreditRecord, ExpiryRun, Notification
from app.models.enums import Channel, RecordState, Role
from app.services.accounts.api_keys import create_key
from app.services.notices.dispatch import dispatch_pending
from app.services.records import get_retired_page, retire_expired_records
from app.services.records.expiry import DIGEST_HOLD
from tests.factories import make_department, make_record, make_subject, make_user
from tests.service.test_dispatch import smtp  # noqa: F401  (the real SMTP server on the loopback)
from tests.web.helpers import sign_in, text

AS_OF = datetime(2027, 6, 1, 3, 0)  # every record below ended its publicity before


def _due(department, n: int, subject=None, start: int = 0) -> list[CreditRecord]:
    """n general records decided in April-May 2026: their year of publicity ended before AS_OF."""
    return [make_record(subject=subject, department=department, decision_date=date(2026, 4, 1) + timedelta(days=i % 50),
                        decision_number=f"{department.code}-罚{start + i}号") for i in range(n)]


def _digests(db, department_id=None, channel=Channel.INBOX) -> list[Notification]:
    stmt = select(Notification).where(Notification.template == "records_retired", Notification.channel == channel)
    if department_id is not None:
        stmt = stmt.where(Notification.recipient_department_id == department_id)
    return list(db.session.scalars(stmt))


@pytest.fixture
def two_departments(db):
    """25 due records of one department and 7 of another, retired in batches of 10 (4 batches)."""
    mine, theirs = make_department(contact_email="credit@mine.example.cn"), make_department()
    records = _due(mine, 25), _due(theirs, 7)
    return mine, theirs, records


def test_batches_of_10_give_one_digest_per_department_with_the_count_and_every_record(db, two_departments):
    mine, theirs, (my_records, their_records) = two_departments
    with clock.frozen_clock(AS_OF):
        result = retire_expired_records(batch_size=10)
    assert (result.retired, result.batches, result.departments_told) == (32, 4, 2)
    for department, records in ((mine, my_records), (theirs, their_records)):
        digest, = _digests(db, department.id)
        assert digest.payload == {"count": len(records), "run": result.run_id,
                                  "link": f"/dept/retired/{result.run_id}"}
        listed, after = [], 0
        while True:  # the run's page, 10 at a time
            page = get_retired_page(department.id, result.run_id, after=after, limit=10)
            listed += page.records
            if page.next_after is None:
                break
            after = page.next_after
        assert page.count == len(records)
        assert sorted(r.decision_number for r in listed) == sorted(r.decision_number for r in records)
    run = db.session.get(ExpiryRun, result.run_id)
    assert run.retired == 32 and run.finished_at is not None


def test_a_digest_waits_for_the_end_of_its_run(db, two_departments):
    mine, _theirs, _records = two_departments
    seen = []

    def look(_n):
        digest, = _digests(db, mine.id)
        seen.append((digest.payload["count"], digest.next_attempt_at - clock.now()))

    with clock.frozen_clock(AS_OF):
        retire_expired_records(batch_size=10, after_batch=look)
        digest, = _digests(db, mine.id)
        assert digest.next_attempt_at == clock.now()  # released: the dispatcher may take it now
    counts = [count for count, _wait in seen]
    assert counts == sorted(counts) and counts[-1] == 25 and len(seen) == 4
    assert all(wait == DIGEST_HOLD for _count, wait in seen[:-1])  # held while later batches may come


def test_a_run_that_dies_between_batches_leaves_a_digest_of_what_it_committed(db, two_departments):
    mine, theirs, _records = two_departments
    batches = []

    def die_in_the_second(n):
        batches.append(n)
        if len(batches) == 2:
            raise RuntimeError("killed")

    with clock.frozen_clock(AS_OF), pytest.raises(RuntimeError):
        retire_expired_records(batch_size=10, after_batch=die_in_the_second)
    retired = db.session.scalars(select(CreditRecord).where(CreditRecord.state == RecordState.RETIRED)).all()
    assert len(retired) == 10  # the first batch stands, the second rolled back
    run_id = retired[0].retired_in_run
    assert db.session.get(ExpiryRun, run_id).finished_at is None
    for department in (mine, theirs):
        committed = sum(1 for r in retired if r.department_id == department.id)
        digests = _digests(db, department.id)
        assert [d.payload["count"] for d in digests] == ([committed] if committed else [])
        # Held, then sent with what the run committed, should no later batch come.
        assert all(d.next_attempt_at == clock.local(AS_OF) + DIGEST_HOLD for d in digests)


def test_the_digest_email_attaches_every_retired_record_as_csv(db, smtp):  # noqa: F811
    mine = make_department(contact_email="credit@mine.example.cn")
    records = _due(mine, 25)
    with clock.frozen_clock(AS_OF):
        retire_expired_records(batch_size=10)
        assert len(_digests(db, mine.id, Channel.EMAIL)) == 1
        dispatch_pending()
    mails = [m for rcpt, m in smtp.messages if rcpt == ["credit@mine.example.cn"]]
    assert len(mails) == 1
    attachments = [part for part in mails[0].walk() if part.get_content_type() == "text/csv"]
    assert len(attachments) == 1 and attachments[0].get_filename().endswith(".csv")
    content = attachments[0].get_payload(decode=True).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert sorted(r["决定文书号"] for r in rows) == sorted(r.decision_number for r in records)
    body, = (p for p in mails[0].walk() if p.get_content_type() == "text/plain")
    assert "25" in body.get_payload(decode=True).decode()


def _statements(db, into: list):
    connection = db.session.connection()

    def count(*_args):
        into.append(1)

    event.listen(connection, "before_cursor_execute", count)
    return lambda: event.remove(connection, "before_cursor_execute", count)


def test_a_catch_up_costs_the_same_per_batch_however_many_came_before(db):
    """All batches of a catch-up share one instant; each tells only its own records' subjects."""
    department = make_department()
    subject = make_subject()
    make_user(Role.APPLICANT, subject=subject)  # verified: hears of each of its records
    _due(department, 60, subject=subject)
    statements, per_batch = [], []
    stop = _statements(db, statements)
    try:
        with clock.frozen_clock(AS_OF):
            result = retire_expired_records(batch_size=10, after_batch=lambda n: per_batch.append(len(statements)))
    finally:
        stop()
    assert result.batches == 6
    costs = [b - a for a, b in zip(per_batch, per_batch[1:], strict=False)]
    assert len(set(costs)) == 1, costs  # batch 2 costs what batch 6 costs
    user_notices = db.session.scalars(select(Notification.key).where(Notification.template == "record_retired")).all()
    assert len(user_notices) == len(set(user_notices)) == 60


# -- the department console and the API -----------------------------------------------------------

def test_the_runs_page_and_csv_are_the_departments_own(client, db, two_departments):
    mine, theirs, (my_records, their_records) = two_departments
    with clock.frozen_clock(AS_OF):
        run = retire_expired_records(batch_size=10).run_id
        dispatch_pending()  # the inbox shows what was delivered
    me = make_user(Role.DEPARTMENT, department=mine)
    sign_in(client, me.username)
    page = client.get(f"/dept/retired/{run}")
    assert page.status_code == 200
    assert all(r.decision_number in text(page) for r in my_records)
    assert not any(r.decision_number in text(page) for r in their_records)
    download = client.get(f"/dept/retired/{run}.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r["决定文书号"] for r in rows) == sorted(r.decision_number for r in my_records)
    assert client.get(f"/dept/retired/{run}?after=x").status_code == 400
    assert client.get(f"/dept/retired/{run + 1}").status_code == 404
    home = client.get("/dept/")
    assert f"/dept/retired/{run}" in text(home)  # the digest in the console links its page

    client.post("/auth/sign-out")
    stranger = make_user(Role.DEPARTMENT, department=make_department())
    client2 = client.application.test_client()
    sign_in(client2, stranger.username)
    assert client2.get(f"/dept/retired/{run}").status_code == 404
    assert client2.get(f"/dept/retired/{run}.csv").status_code == 404


def test_the_api_lists_the_records_retired_since_an_instant(client, db):
    mine, theirs = make_department(), make_department()
    make_user(Role.DEPARTMENT, department=mine)
    _k, token = create_key(mine, "tests")
    headers = {"Authorization": f"Bearer {token}"}
    early = make_record(department=mine, decision_date=date(2026, 4, 1))  # ends 2027-04-01
    later = make_record(department=mine, decision_date=date(2026, 8, 1))  # ends 2027-08-01
    make_record(department=theirs, decision_date=date(2026, 8, 1))
    still = make_record(department=mine, decision_date=date(2026, 12, 1))
    with clock.frozen_clock(AS_OF):
        retire_expired_records()
    with clock.frozen_clock(datetime(2027, 9, 1, 3, 0)):
        retire_expired_records()

    def ids(query):
        response = client.get(f"/api/v1/records?{query}", headers=headers)
        assert response.status_code == 200, response.json
        return [r["id"] for r in response.json["records"]]

    assert ids("retired_since=2027-08-01") == [later.id]
    assert ids("retired_since=2027-06-01T03:00:00%2B08:00") == [early.id, later.id]  # at the instant: included
    assert ids("retired_since=2027-06-01T03:00:01%2B08:00") == [later.id]
    assert still.id in ids("after=0") and still.id not in ids("retired_since=2020-01-01")
    for bad in ("last+week", "0001-01-01T00:00:00%2B14:00"):
        response = client.get(f"/api/v1/records?retired_since={bad}", headers=headers)
        assert response.status_code == 400 and "retired_since" in response.json["detail"]
