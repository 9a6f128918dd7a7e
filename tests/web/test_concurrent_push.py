"""Two pushes of the same new decision number at once: the later answers as a sequential one would.

Both look the number up, find nothing, insert; the unique key lets one insert through and the other
fails (on PostgreSQL it waits for the first to commit). That failure was a 500; now the second push
looks again, once, and finds the first's record: "unchanged" when identical, "updated" when changed.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CreditRecord, RecordEvent
from app.services.records import push
from tests.web.test_api import _key, _record


def _count(number: str) -> int:
    return db.session.scalar(select(func.count()).select_from(CreditRecord)
                             .where(CreditRecord.decision_number == number))


def _lookup_misses_once(monkeypatch) -> list[int]:
    """The first lookup of a push sees none of the records: as if another push had not yet
    committed the record it is about to commit. Returns the sizes of the lookups made."""
    real, calls = push._existing, []

    def existing(department, numbers):
        calls.append(len(numbers))
        return {} if len(calls) == 1 else real(department, numbers)

    monkeypatch.setattr(push, "_existing", existing)
    return calls


@pytest.mark.parametrize(("change", "answer"), [
    ({}, {"created": 0, "updated": 0, "unchanged": 1}),
    ({"sanction": "罚款人民币一万元"}, {"created": 0, "updated": 1, "unchanged": 0}),
])
def test_a_push_whose_insert_meets_the_number_looks_again(client, db, monkeypatch, change, answer):
    _department, headers = _key()
    item = _record(71)
    assert client.post("/api/v1/records", headers=headers, json={"records": [item]}).json["created"] == 1
    calls = _lookup_misses_once(monkeypatch)
    other = _record(72)  # a new record in the same push: still created, once
    second = client.post("/api/v1/records", headers=headers, json={"records": [{**item, **change}, other]})
    assert second.status_code == 200, second.json
    assert second.json == {**answer, "created": 1}
    assert calls == [2, 2]  # missed both, then looked again for both after the unique violation
    assert _count(item["decision_number"]) == 1 and _count(other["decision_number"]) == 1


def test_a_push_that_keeps_meeting_the_number_is_told_to_retry(client, db, monkeypatch):
    _department, headers = _key()
    item = _record(73)
    client.post("/api/v1/records", headers=headers, json={"records": [item]})
    monkeypatch.setattr(push, "_existing", lambda department, numbers: {})  # never finds it
    refused = client.post("/api/v1/records", headers=headers, json={"records": [item, _record(74)]})
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert "concurrent request" in refused.json["detail"] and "retry" in refused.json["detail"]
    assert _count(item["decision_number"]) == 1 and _count(_record(74)["decision_number"]) == 0


def test_two_concurrent_pushes_of_a_new_record_both_succeed(committed_app, is_postgres, monkeypatch):
    if not is_postgres:
        pytest.skip("SQLite serialises writers: two pushes cannot overlap")
    with committed_app.app_context():
        _department, headers = _key()  # create_key commits the department and its user
        db.session.remove()
    item = _record(75)
    # Both pushes have looked the number up (and found nothing) before either inserts.
    barrier, waited = threading.Barrier(2), threading.local()
    real = push._existing

    def existing(department, numbers):
        found = real(department, numbers)
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(timeout=10)
        return found

    monkeypatch.setattr(push, "_existing", existing)
    answers: list = []

    def attempt():
        answer = committed_app.test_client().post("/api/v1/records", headers=headers, json={"records": [item]})
        answers.append((answer.status_code, answer.json))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(answers, key=lambda a: a[1]["created"]) == [
        (200, {"created": 0, "updated": 0, "unchanged": 1}), (200, {"created": 1, "updated": 0, "unchanged": 0})]
    with committed_app.app_context():
        assert _count(item["decision_number"]) == 1
        record = db.session.scalar(select(CreditRecord).where(CreditRecord.decision_number == item["decision_number"]))
        events = db.session.scalar(select(func.count()).select_from(RecordEvent)
                                   .where(RecordEvent.record_id == record.id))
        assert events == 1, "the later push added nothing to the record's trail"
