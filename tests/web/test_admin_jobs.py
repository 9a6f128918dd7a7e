"""Admin: run a job now (under its lock, audited), and the outbox (search, pages, retry)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AdminAudit, JobRun, Notification
from app.models.enums import Channel, NotificationStatus, Role
from app.services.admin import jobs
from app.services.admin.jobs import job_lock
from tests.factories import id_number, make_department, make_user
from tests.web.helpers import csrf_token, sign_in, text


@pytest.fixture
def admin(client, db):
    user = make_user(Role.ADMIN)
    sign_in(client, user.username)
    return user


def _audits(db, action: str) -> list[AdminAudit]:
    return list(db.session.scalars(select(AdminAudit).where(AdminAudit.action == action).order_by(AdminAudit.id)))


def _notice(db, key: str, status: str = NotificationStatus.DEAD, **kw) -> Notification:
    values = {"channel": Channel.EMAIL, "template": "case_submitted", "payload": {}, "attempts": 8, **kw}
    if "recipient_user_id" not in values and "recipient_department_id" not in values:
        values["recipient_user_id"] = make_user(Role.OFFICER).id
    notice = Notification(key=key, status=status, **values)
    db.session.add(notice)
    db.session.flush()
    return notice


# Jobs


def test_the_home_page_lists_every_job_with_a_run_button(client, admin):
    page = text(client.get("/admin/"))
    for name in jobs.JOBS:
        assert f'action="/admin/jobs/{name}/run"' in page
    assert "/admin/outbox" in page


def test_run_now_runs_the_job_updates_its_heartbeat_and_is_audited(client, db, admin):
    token = csrf_token(client, "/admin/")
    response = client.post("/admin/jobs/sla/run", data={"csrf_token": token})
    assert response.status_code == 302
    assert "breached" in text(client.get("/admin/"))  # the outcome, in a flash
    row = db.session.get(JobRun, "sla")
    assert row.runs == 1 and row.failures == 0 and row.last_finished_at is not None
    [entry] = _audits(db, "job.run")
    assert entry.actor_id == admin.id and entry.object_type == "job"
    assert entry.after["job"] == "sla" and entry.after["ok"] is True and entry.after["error"] is None
    assert entry.after["result"]["breached"] == 0


def test_a_job_running_elsewhere_answers_409_and_runs_nothing(client, db, admin):
    token = csrf_token(client, "/admin/")
    with job_lock("sla", timedelta(minutes=5)) as acquired:
        assert acquired
        response = client.post("/admin/jobs/sla/run", data={"csrf_token": token})
    assert response.status_code == 409 and "sla" in text(response)
    db.session.expire_all()
    row = db.session.get(JobRun, "sla")
    assert row is None or row.runs == 0
    assert _audits(db, "job.run") == []


def test_a_failing_job_is_reported_on_the_page_not_a_500(client, db, admin, monkeypatch):
    def broken():
        raise RuntimeError("smtp host unreachable")

    monkeypatch.setitem(jobs.JOBS, "dispatch", jobs.Job("dispatch", broken, timedelta(seconds=30), "x"))
    token = csrf_token(client, "/admin/")
    response = client.post("/admin/jobs/dispatch/run", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and "smtp host unreachable" in text(response)
    row = db.session.get(JobRun, "dispatch")
    assert row.failures == 1 and "smtp host unreachable" in row.last_error
    [entry] = _audits(db, "job.run")
    assert entry.after["ok"] is False and "RuntimeError: smtp host unreachable" == entry.after["error"]


def test_run_now_needs_a_token_a_known_job_and_an_admin(app, client, db, admin):
    assert client.post("/admin/jobs/sla/run").status_code == 400
    token = csrf_token(client, "/admin/")
    assert client.post("/admin/jobs/nope/run", data={"csrf_token": token}).status_code == 404
    officer_client = app.test_client()
    sign_in(officer_client, make_user(Role.OFFICER).username)
    officer_token = csrf_token(officer_client, "/desk/")
    assert officer_client.post("/admin/jobs/sla/run", data={"csrf_token": officer_token}).status_code == 403
    assert _audits(db, "job.run") == []


# Outbox


def test_the_outbox_filters_by_status_channel_notice_and_text(client, db, admin):
    department = make_department(name="市场监管局", code="SAMR-9")
    dead = _notice(db, "k:dead:1", last_error="SMTP: refused")
    _notice(db, "k:sent:1", NotificationStatus.SENT, channel=Channel.INBOX, attempts=1)
    to_department = _notice(db, "retired:SAMR-9", NotificationStatus.PENDING, template="records_retired",
                            recipient_department_id=department.id, attempts=2, last_error="timeout")
    db.session.commit()

    def keys(query: str) -> list[str]:
        page = text(client.get(f"/admin/outbox?{query}"))
        return [k for k in ("k:dead:1", "k:sent:1", "retired:SAMR-9") if k in page]

    assert keys("") == ["k:dead:1", "k:sent:1", "retired:SAMR-9"]
    assert keys("status=dead") == ["k:dead:1"]
    assert keys("channel=inbox") == ["k:sent:1"]
    assert keys("template=records_retired") == ["retired:SAMR-9"]
    assert keys("q=市场监管") == ["retired:SAMR-9"]  # the recipient's name
    assert keys("q=K:DEAD") == ["k:dead:1"]  # the key
    assert keys("status=pending&q=dead") == []
    page = text(client.get("/admin/outbox?status=dead"))
    assert "SMTP: refused" in page and f'value="{dead.id}"' in page
    assert f'value="{to_department.id}"' not in page


def test_the_outbox_pages_newest_first(client, db, admin, monkeypatch):
    from app.services.admin import overview as admin_service

    monkeypatch.setattr(admin_service, "OUTBOX_PAGE", 2)
    user = make_user(Role.OFFICER)
    ids = [_notice(db, f"k:page:{i}", recipient_user_id=user.id).id for i in range(5)]
    db.session.commit()
    pages, url = [], "/admin/outbox?status=dead"
    while url:
        page = text(client.get(url))
        pages.append([i for i in reversed(ids) if f'value="{i}"' in page])
        found = re.search(r'href="(/admin/outbox\?[^"]*before=\d+[^"]*)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert client.get("/admin/outbox?before=x").status_code == 422
    assert client.get("/admin/outbox?status=lost").status_code == 422


def test_retry_many_puts_notices_back_in_line_and_is_audited(client, db, admin):
    first = _notice(db, "k:r:1", last_error="SMTP: refused")
    second = _notice(db, "k:r:2", NotificationStatus.PENDING, attempts=3, last_error="timeout")
    sent = _notice(db, "k:r:3", NotificationStatus.SENT, attempts=1)
    db.session.commit()
    token = csrf_token(client, "/admin/outbox")
    response = client.post("/admin/outbox?status=dead", data={
        "csrf_token": token, "id": [str(first.id), str(second.id), str(sent.id)]})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/outbox?status=dead")
    db.session.expire_all()
    assert (first.status, first.attempts) == (NotificationStatus.PENDING, 0)
    assert (second.status, second.attempts) == (NotificationStatus.PENDING, 0)
    assert sent.status == NotificationStatus.SENT  # delivered notices are never sent twice
    [entry] = _audits(db, "outbox.retry")
    assert entry.actor_id == admin.id and entry.after["ids"] == [first.id, second.id]
    assert {n["id"]: n["status"] for n in entry.before["notices"]} == {first.id: "dead", second.id: "pending"}


def test_retry_refuses_nothing_chosen_or_nothing_retryable(client, db, admin):
    sent = _notice(db, "k:s:1", NotificationStatus.SENT, attempts=1)
    db.session.commit()
    token = csrf_token(client, "/admin/outbox")
    assert client.post("/admin/outbox", data={"csrf_token": token}).status_code == 422
    assert client.post("/admin/outbox", data={"csrf_token": token, "id": "x"}).status_code == 422
    assert client.post("/admin/outbox", data={"csrf_token": token, "id": str(sent.id)}).status_code == 404
    assert client.post("/admin/outbox", data={"id": str(sent.id)}).status_code == 400
    assert _audits(db, "outbox.retry") == []


def test_the_undelivered_page_is_the_outbox_of_dead_notices(client, db, admin):
    dead = _notice(db, "k:d:1", last_error=f"rejected for {id_number()}")
    _notice(db, "k:d:2", NotificationStatus.PENDING)
    db.session.commit()
    page = text(client.get("/admin/outbox/dead?status=sent"))  # the page's own status wins
    assert "k:d:1" in page and "k:d:2" not in page
    assert "rejected for 310101********" in page and dead.last_error not in page  # identity numbers masked
    token = csrf_token(client, "/admin/outbox/dead")
    assert client.post("/admin/outbox/dead", data={"csrf_token": token, "id": str(dead.id)}).status_code == 302
    db.session.expire_all()
    assert dead.status == NotificationStatus.PENDING
    assert _audits(db, "outbox.retry")[0].after["ids"] == [dead.id]
