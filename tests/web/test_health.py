"""/healthz and /readyz (issue 17): the process lives; the database answers, is migrated to this
code's head and the scheduler beats; 503 naming what fails; no sign-in, no session, no data."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_login.utils import _create_identifier

from app import create_app
from app.models import JobRun
from app.models.jobs import SchedulerProcess
from app.services.operations import code_head
from config import Config

UNREACHABLE = "postgresql+psycopg://casedesk@127.0.0.1:9/nowhere?connect_timeout=2"


@pytest.fixture(autouse=True)
def scheduler_checked(app, monkeypatch):
    """The production default (the tests' configuration has no scheduler to check)."""
    monkeypatch.setitem(app.config, "READYZ_SCHEDULER_MAX_AGE", Config.READYZ_SCHEDULER_MAX_AGE)


@pytest.fixture
def beat(db):
    """A scheduler seen ``age`` ago (the heartbeat B's scheduler writes every few seconds)."""
    def write(age: timedelta):
        db.session.execute(sa.delete(SchedulerProcess))
        db.session.execute(sa.delete(JobRun))
        at = datetime.now(UTC) - age
        db.session.add(SchedulerProcess(holder="host-a:1", started_at=at - timedelta(hours=1), seen_at=at))
        db.session.add(JobRun(name="dispatch", last_started_at=at, last_finished_at=at, runs=1, failures=0))
        db.session.flush()
    return write


def test_healthz_answers_without_the_database():
    app = create_app({"SQLALCHEMY_DATABASE_URI": UNREACHABLE})
    client = app.test_client()
    with client.session_transaction() as session:  # a signed-in browser's cookie: not looked up
        session.update({"_user_id": "1", "sid": "x" * 43, "_fresh": True, "_id": _browser_id(client)})
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_names_the_unreachable_database():
    response = create_app({"SQLALCHEMY_DATABASE_URI": UNREACHABLE}).test_client().get("/readyz")
    assert response.status_code == 503 and response.mimetype == "application/json"
    assert response.json["failing"] == ["database"] and response.json["checks"]["database"]["ok"] is False
    assert response.headers["Retry-After"]


def test_readyz_is_ready_on_a_migrated_database_with_a_live_scheduler(client, beat):
    beat(timedelta(seconds=3))
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready" and response.json["failing"] == []
    assert response.json["checks"]["migrations"]["revision"] == code_head()
    assert response.json["checks"]["scheduler"]["ok"] is True
    assert "Set-Cookie" not in response.headers


def test_readyz_turns_not_ready_when_the_scheduler_heartbeat_is_stale(client, beat, app):
    beat(timedelta(seconds=app.config["READYZ_SCHEDULER_MAX_AGE"] + 30))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["scheduler"]
    assert response.json["checks"]["scheduler"]["error"] == "scheduler heartbeat is stale"


def test_readyz_without_any_scheduler_run_is_not_ready(client, db):
    db.session.execute(sa.delete(SchedulerProcess))
    db.session.execute(sa.delete(JobRun))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["failing"] == ["scheduler"]


def test_a_host_without_the_scheduler_check(client, db, app, monkeypatch):
    db.session.execute(sa.delete(SchedulerProcess))
    db.session.execute(sa.delete(JobRun))
    monkeypatch.setitem(app.config, "READYZ_SCHEDULER_MAX_AGE", 0)
    response = client.get("/readyz")
    assert response.status_code == 200 and "scheduler" not in response.json["checks"]


def test_readyz_is_not_ready_on_a_database_behind_the_code(client, db, beat):
    beat(timedelta(seconds=1))
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["failing"] == ["migrations"]
    assert response.json["checks"]["migrations"]["head"] == code_head()


def test_readyz_stays_ready_on_a_database_migrated_ahead_by_a_release(client, db, beat):
    """A release migrates first (deploy/release.sh): the hosts still on the old code keep serving."""
    beat(timedelta(seconds=1))
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["migrations"]["note"] == "database ahead of this code"


def test_the_probes_tell_nothing_of_anyone(client, beat):
    beat(timedelta(seconds=1))
    body = client.get("/readyz").get_data(as_text=True)
    assert "host-a" not in body and "dispatch" not in body


def _browser_id(client) -> str:
    """Flask-Login's identifier of the test client (address and user agent), as its "strong"
    session protection checks it: without it the session is dropped before anything is looked up."""
    with client.application.test_request_context(environ_base=client.environ_base):
        return _create_identifier()
