"""Prometheus metrics (issue 17): requests by route and status, latency, the database's figures
read at scrape time, only for allowed networks or the token, added up across gunicorn workers."""
from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import clock, create_app
from app.extensions import db as _db
from app.models import JobRun, Notification
from app.models.enums import Channel, NotificationStatus, RecordState
from tests.factories import make_record, make_user
from tests.gunicorn_server import free_port, get, gunicorn, migrated_sqlite, server_env

TOKEN = "m" * 40


def _scrape(client, **kw) -> str:
    response = client.get("/metrics", **kw)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def _value(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_requests_are_counted_by_route_not_by_path(client):
    secret = "Zq3sV9cXkT1mN8pL2wR7yB4uE6hJ0aDf"
    route = {"method": "GET", "route": "/auth/sign-up/<token>"}
    text = _scrape(client)
    status = str(client.get(f"/auth/sign-up/{secret}").status_code)
    count = _value(text, "casedesk_http_requests_total", **route, status=status) or 0
    timed = _value(text, "casedesk_http_request_duration_seconds_count", **route) or 0
    client.get("/no/such/page/unmatched-path-Kp4")  # no figure can hold these letters by chance
    text = _scrape(client)
    assert secret not in text and "unmatched-path-Kp4" not in text
    assert _value(text, "casedesk_http_requests_total", **route, status=status) == count + 1
    assert _value(text, "casedesk_http_requests_total", route="[unmatched]", status="404") >= 1
    assert _value(text, "casedesk_http_request_duration_seconds_count", **route) == timed + 1


def test_the_figures_are_read_from_the_database_at_scrape_time(client, db, frozen):
    db.session.execute(sa.delete(Notification))
    user = make_user()
    created = clock.now() - timedelta(minutes=10)
    for n, (channel, status) in enumerate([(Channel.EMAIL, NotificationStatus.PENDING),
                                           (Channel.EMAIL, NotificationStatus.PENDING),
                                           (Channel.WEBHOOK, NotificationStatus.DEAD),
                                           (Channel.INBOX, NotificationStatus.SENT)]):
        db.session.add(Notification(key=f"m:{n}", channel=channel, status=status, template="case_submitted",
                                    payload={}, recipient_user_id=user.id, created_at=created))
    due = make_record()
    due.publicity_start, due.shortest_publicity_end, due.publicity_end = (
        date(2025, 1, 1), date(2025, 6, 1), date(2026, 1, 1))  # ended before the frozen today
    make_record()  # in publicity for years yet
    db.session.execute(sa.delete(JobRun))
    db.session.add(JobRun(name="expire", runs=7, failures=2, last_duration_ms=1500, last_error="boom",
                          last_started_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
                          last_finished_at=datetime(2026, 11, 25, 9, 0, 1, 500000, tzinfo=UTC)))
    db.session.flush()
    text = _scrape(client)
    assert _value(text, "casedesk_database_up") == 1
    assert _value(text, "casedesk_outbox_notices", channel="email", state="pending") == 2
    assert _value(text, "casedesk_outbox_notices", channel="webhook", state="dead") == 1
    assert _value(text, "casedesk_outbox_notices", channel="inbox", state="sent") is None
    assert _value(text, "casedesk_outbox_oldest_pending_age_seconds", channel="email") == 600
    base = _value(text, "casedesk_records_due_unretired")
    assert base >= 1
    assert _value(text, "casedesk_job_runs_total", job="expire") == 7
    assert _value(text, "casedesk_job_failures_total", job="expire") == 2
    assert _value(text, "casedesk_job_last_duration_seconds", job="expire") == 1.5
    assert _value(text, "casedesk_job_last_run_failed", job="expire") == 1
    due.state, due.retired_at = RecordState.RETIRED, clock.now()
    db.session.flush()
    assert _value(_scrape(client), "casedesk_records_due_unretired") == base - 1


def test_metrics_are_a_404_outside_the_allowed_networks_without_the_token(client, app, monkeypatch):
    outside = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    assert client.get("/metrics", **outside).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}, **outside).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, **outside).status_code == 200
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_NETWORKS", ("203.0.113.0/24",))
    assert client.get("/metrics", **outside).status_code == 200
    assert client.get("/metrics").status_code == 404  # 127.0.0.1 is no longer in the list


def test_behind_the_proxy_the_clients_address_decides(tmp_path, database_url):
    """With TRUSTED_PROXY_COUNT=1 the address is the one nginx appended, not the peer's (nginx's own)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TRUSTED_PROXY_COUNT": 1,
                      "UPLOAD_DIR": str(tmp_path)})
    client = app.test_client()
    try:
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9, 127.0.0.1"}).status_code == 200
    finally:
        with app.app_context():
            _db.engine.dispose()


@pytest.mark.slow
def test_gunicorn_workers_add_up_in_one_scrape(tmp_path):
    """Two workers, each its own process: whichever answers the scrape counts every request."""
    env = server_env(tmp_path, GUNICORN_WORKERS="2", GUNICORN_ACCESS_LOG=str(tmp_path / "access.log"))
    env["DATABASE_URL"] = migrated_sqlite(tmp_path / "site.sqlite3", env)
    port = free_port()
    with gunicorn(env, port):
        metrics, health = f"http://127.0.0.1:{port}/metrics", f"http://127.0.0.1:{port}/healthz"
        deadline, pids = time.monotonic() + 60, set()
        while len(pids) < 2 and time.monotonic() < deadline:  # the second worker may still be booting
            with ThreadPoolExecutor(max_workers=4) as pool:
                pids |= {json.loads(body)["pid"] for _, _, body in pool.map(lambda _: get(health), range(8))}
        assert len(pids) == 2
        before = _value(get(metrics)[2].decode(), "casedesk_http_requests_total", route="/healthz") or 0
        with ThreadPoolExecutor(max_workers=8) as pool:  # both workers busy at once
            assert set(pool.map(lambda _: get(health)[0], range(200))) == {200}
        status, _, body = get(metrics)
        files = {p.name for p in (tmp_path / "prometheus").glob("counter_*.db")}
    assert status == 200
    assert len(files) == 2, files  # each worker its own file
    text = body.decode()
    assert _value(text, "casedesk_http_requests_total", route="/healthz", status="200") == before + 200
    assert _value(text, "casedesk_http_request_duration_seconds_count", route="/healthz") == before + 200
    assert _value(text, "casedesk_database_up") == 1
