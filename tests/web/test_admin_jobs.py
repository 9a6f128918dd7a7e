"""Admin: run a job now (queued for the scheduler, audited), and the outbox (search, pages, retry)."""
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


def test_run_now_queues_the_job_for_the_scheduler_and_is_audited(client, db, admin):
    """The request only queues it (issue 17): the run is the scheduler's, which clears the request."""
    token = csrf_token(client, "/admin/")
    response = client.post("/admin/jobs/sla/run", data={"csrf_token": token})
    assert response.status_code == 302
    row = db.session.get(JobRun, "sla")
    assert row.requested_at is not None and row.requested_by_id == admin.id
    assert row.runs == 0 and row.last_started_at is None  # nothing ran in the request
    page = text(client.get("/admin/"))
    assert "排队" in page and admin.display_name in page
    [entry] = _audits(db, "job.run")
    assert entry.actor_id == admin.id and entry.object_type == "job"
    assert entry.after["job"] == "sla" and entry.after["queued"] is True and entry.after["already_queued"] is False
    client.post("/admin/jobs/sla/run", data={"csrf_token": token})  # asked twice: one run
    assert _audits(db, "job.run")[1].after["already_queued"] is True

    assert jobs.requested_jobs() == ["sla"]
    assert jobs.run_job("sla").ran  # what the scheduler's poll starts
    db.session.expire_all()
    assert row.requested_at is None and row.runs == 1 and jobs.requested_jobs() == []
    page = text(client.get("/admin/"))
    assert "排队" not in page and "<small>无需处理</small>" in page  # the result, in words, in the jobs table


def test_a_job_running_elsewhere_is_queued_and_shown_running(client, db, admin):
    token = csrf_token(client, "/admin/")
    with job_lock("sla", timedelta(minutes=5)) as acquired:
        assert acquired
        response = client.post("/admin/jobs/sla/run", data={"csrf_token": token})
        assert response.status_code == 302
        page = text(client.get("/admin/"))
        assert "运行中" in page and jobs.HOLDER in page
        assert jobs.requested_jobs() == []  # the scheduler waits until the run ends
    db.session.expire_all()
    row = db.session.get(JobRun, "sla")
    assert row.runs == 0 and row.requested_at is not None
    assert jobs.requested_jobs() == ["sla"]  # asked during a run: it runs again after


def test_a_failing_job_is_reported_on_the_page_not_a_500(client, db, admin, monkeypatch):
    def broken():
        raise RuntimeError("smtp host unreachable")

    monkeypatch.setitem(jobs.JOBS, "dispatch", jobs.Job("dispatch", broken, timedelta(seconds=30), "x"))
    token = csrf_token(client, "/admin/")
    assert client.post("/admin/jobs/dispatch/run", data={"csrf_token": token}).status_code == 302
    with pytest.raises(RuntimeError):
        jobs.run_job("dispatch")  # the scheduler's run
    response = client.get("/admin/")
    assert response.status_code == 200 and "smtp host unreachable" in text(response)
    row = db.session.get(JobRun, "dispatch")
    assert row.failures == 1 and "smtp host unreachable" in row.last_error and row.requested_at is None


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
