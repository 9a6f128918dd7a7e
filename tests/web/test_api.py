"""The department API: keys, records, referrals, webhooks; problem details; no leaks."""
from __future__ import annotations

import json
import resource
import time

import pytest
from sqlalchemy import func, select

from app.models import CreditRecord, RecordEvent, WebhookSubscription
from app.models.enums import CaseKind, Role
from app.services.accounts.api_keys import create_key, revoke_key
from tests.factories import act, make_department, make_record, make_subject, make_user, submit, uscc


def _key(department=None):
    department = department or make_department()
    make_user(Role.DEPARTMENT, department=department)
    _k, token = create_key(department, "tests")
    return department, {"Authorization": f"Bearer {token}"}


def _record(n, **over):
    return {"identifier": uscc(), "subject_name": f"接口公司{n}", "category": "administrative_penalty",
            "severity": "general", "decision_number": f"接口罚{n}号", "decision_date": "2026-06-01",
            "facts": "事实", "sanction": "罚款", **over}


def test_missing_invalid_and_revoked_keys_get_401_alike(client, db):
    department, headers = _key()
    assert client.get("/api/v1/records").status_code == 401
    assert client.get("/api/v1/records", headers={"Authorization": "Bearer cdk_nope_nope"}).status_code == 401
    assert client.get("/api/v1/records", headers=headers).status_code == 200
    revoke_key(headers["Authorization"].split("_")[1])
    revoked = client.get("/api/v1/records", headers=headers)
    assert revoked.status_code == 401 and revoked.mimetype == "application/problem+json"


def test_push_is_all_or_nothing_with_field_errors_and_idempotent(client, db, frozen):
    department, headers = _key()
    bad = client.post("/api/v1/records", headers=headers,
                      json={"records": [_record(1), _record(2, identifier="91350100M000100Y44", decision_date="x")]})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert {(e["index"], e["field"]) for e in bad.json["errors"]} == {(1, "identifier"), (1, "decision_date")}
    assert db.session.scalar(select(func.count()).select_from(CreditRecord)) == 0
    records = [_record(1), _record(2)]
    assert client.post("/api/v1/records", headers=headers, json={"records": records}).json == \
        {"created": 2, "updated": 0, "unchanged": 0}
    again = client.post("/api/v1/records", headers=headers, json={"records": records})
    assert again.json == {"created": 0, "updated": 0, "unchanged": 2}
    records[0]["sanction"] = "罚款人民币一万元"
    changed = client.post("/api/v1/records", headers=headers, json={"records": records})
    assert changed.json == {"created": 0, "updated": 1, "unchanged": 1}
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.decision_number == "接口罚1号"))
    assert record.state == "corrected" and record.version == 2
    assert client.post("/api/v1/records", headers=headers, data="not json").status_code == 400


def test_a_key_never_reaches_another_departments_objects(client, db):
    mine, headers = _key()
    other_record = make_record(department=make_department())
    assert client.get(f"/api/v1/records/{other_record.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/records/987654", headers=headers).status_code == 404  # same answer
    subject = make_subject()
    case = submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION, other_record
                  if other_record.subject_id == subject.id else make_record(subject=subject, department=other_record.department))
    officer = make_user(Role.OFFICER)
    act(case, "accept", officer)
    act(case, "refer", officer)
    reply = client.post(f"/api/v1/referrals/{case.id}/reply", headers=headers,
                        json={"verification": "correct", "reason": "x", "version": case.version})
    assert reply.status_code == 404


def test_a_referral_is_listed_and_answered_by_key(client, db):
    department, headers = _key()
    subject = make_subject()
    case = submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION,
                  make_record(subject=subject, department=department))
    officer = make_user(Role.OFFICER)
    act(case, "accept", officer)
    act(case, "refer", officer)
    listed = client.get("/api/v1/referrals", headers=headers).json["referrals"]
    assert [c["number"] for c in listed] == [case.number]
    stale = client.post(f"/api/v1/referrals/{case.id}/reply", headers=headers,
                        json={"verification": "revoke", "reason": "已撤销", "version": case.version - 1})
    assert stale.status_code == 409
    done = client.post(f"/api/v1/referrals/{case.id}/reply", headers=headers,
                       json={"verification": "revoke", "reason": "已撤销", "version": listed[0]["version"]})
    assert done.status_code == 200 and done.json["state"] == "replied"


def test_webhooks_subscribe_and_unsubscribe(client, db):
    department, headers = _key()
    bad = client.post("/api/v1/webhooks", headers=headers, json={"url": "ftp://x"})
    assert bad.status_code == 422
    made = client.post("/api/v1/webhooks", headers=headers, json={"url": "https://93.184.215.14/hook"})
    assert made.status_code == 201 and len(made.json["secret"]) > 30
    sub = db.session.get(WebhookSubscription, made.json["id"])
    assert sub.department_id == department.id and sub.is_active
    other, other_headers = _key()
    assert client.delete(f"/api/v1/webhooks/{sub.id}", headers=other_headers).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{sub.id}", headers=headers).status_code == 204


def test_the_openapi_document_describes_every_api_route(client, app):
    spec = client.get("/api/v1/openapi.json").json
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert ("/api/v1/records", "post") in documented and ("/api/v1/referrals/{case_id}/reply", "post") in documented
    routes = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    described = {op["operationId"].rsplit("_", 1)[0].replace("api_", "api.", 1)
                 for ops in spec["paths"].values() for op in ops.values()}
    assert routes == described
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.slow
def test_a_bulk_push_of_10000_records(client, db, frozen, capsys):
    """Figures for benchmarks/README.md; no timed assertion."""
    department, headers = _key()
    body = json.dumps({"records": [_record(n, identifier=uscc(n % 2000 + 1)) for n in range(10_000)]})
    t0 = time.perf_counter()
    response = client.post("/api/v1/records", headers={**headers, "Content-Type": "application/json"}, data=body)
    seconds = time.perf_counter() - t0
    assert response.status_code == 200 and response.json["created"] == 10_000
    assert db.session.scalar(select(func.count()).select_from(RecordEvent)) == 10_000
    with capsys.disabled():
        print(f"\nbulk push of 10,000 records: {seconds:.1f} s, {10_000 / seconds:,.0f} records/s, "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
