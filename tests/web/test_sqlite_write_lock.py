"""SQLite: the web never answers 500 because the scheduler holds the write lock (issue 17, item 4).

SQLite has one writer at a time, and every transaction here takes the write lock at its start
(``BEGIN IMMEDIATE``), reads included; a request waits up to the busy timeout. A sweep that
commits batch after batch without a pause starved the waiting requests ("database is locked",
500). The expiry sweep now commits small batches and lets the waiting writers in between.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from app.extensions import db
from app.models import CreditRecord, Subject
from app.models.enums import RecordClass, RecordState, Role
from tests.factories import make_department, make_record, make_user
from tests.web.helpers import csrf_token, sign_in

ROOT = Path(__file__).resolve().parents[2]
DUE = 40_000
SUBJECTS = 200  # each with an account: each retired record is a notice


def _load_due_records(app, n: int, subjects: int) -> None:
    """n records whose publicity has ended, spread over ``subjects`` subjects that each have a
    verified account (so each batch tells them, as the sweep does): one record made by the
    factory, n - 1 copies made by SQL."""
    with app.app_context():
        owners = [make_user(Role.APPLICANT).subject_id for _ in range(subjects)]
        template = make_record(subject=db.session.get(Subject, owners[0]), department=make_department(),
                               severity=RecordClass.MINOR, decision_date=date(2026, 5, 2))  # over by August
        db.session.commit()
        table = CreditRecord.__table__
        columns = [c for c in table.columns if c.name not in ("id", "decision_number", "subject_id")]
        numbers = text(f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n - 1}) "
                       "SELECT n FROM s) AS s")
        first = min(owners)  # the factory's subjects have consecutive ids
        copies = (select(*columns, (table.c.decision_number + "-" + text("CAST(n AS TEXT)")).label("number"),
                         text(f"{first} + n % {subjects}"))
                  .select_from(table.join(numbers, text("1 = 1"))).where(table.c.id == template.id))
        db.session.execute(insert(table).from_select(
            [*(c.name for c in columns), "decision_number", "subject_id"], copies))
        db.session.commit()
        assert sorted(owners) == list(range(first, first + subjects))
        db.session.remove()


@pytest.mark.slow
def test_web_requests_during_a_long_expiry_sweep_get_no_500(committed_app, is_postgres):
    if is_postgres:
        pytest.skip("SQLite's single writer; PostgreSQL's row locks are tested with the sweeps themselves")
    _load_due_records(committed_app, DUE, SUBJECTS)
    with committed_app.app_context():
        officer = make_user(Role.OFFICER)
        db.session.commit()
        username = officer.username
        db.session.remove()
    reader, stranger = committed_app.test_client(), committed_app.test_client()
    assert sign_in(reader, username).status_code == 302
    token = csrf_token(stranger, "/auth/sign-in")
    env = {**os.environ, "CASEDESK_ENV": "development", "SECRET_KEY": "x" * 40,
           "DATABASE_URL": committed_app.config["SQLALCHEMY_DATABASE_URI"],
           "CASEDESK_INSTANCE": str(Path(committed_app.config["UPLOAD_DIR"]).parent)}
    sweep = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sweep", "expire"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    statuses: Counter = Counter()
    slowest = 0.0
    try:
        while sweep.poll() is None:
            t0 = time.perf_counter()
            statuses["read", reader.get("/desk/").status_code] += 1  # the session row read, the desk's queues
            statuses["write", stranger.post("/auth/sign-in", data={  # a sign-in attempt written
                "username": "nobody", "password": "wrong", "csrf_token": token}).status_code] += 1
            slowest = max(slowest, time.perf_counter() - t0)  # shown, not asserted
        out, err = sweep.communicate(timeout=300)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
    assert sweep.returncode == 0 and out.strip().splitlines()[-1] == f"retired {DUE}", (out, err)
    assert not [s for (_kind, s) in statuses if s >= 500], statuses
    print(f"requests beside the sweep: {dict(statuses)}, slowest pair {slowest:.2f}s")
    assert sum(statuses.values()) >= 10, statuses  # the requests really ran beside the sweep
    with committed_app.app_context():
        retired = db.session.scalar(select(func.count()).select_from(CreditRecord)
                                    .where(CreditRecord.state == RecordState.RETIRED))
        db.session.remove()
    assert retired == DUE


@pytest.mark.slow
def test_a_write_lock_held_past_the_busy_timeout_is_a_503_with_retry_after(committed_app, is_postgres):
    """Held longer than the busy timeout (10 s) by another process: "database is locked" is a clean
    503 that says when to come back, never a 500; once the lock is gone, the same page answers."""
    if is_postgres:
        pytest.skip("SQLite's database-wide write lock")
    import sqlite3
    import threading

    path = committed_app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]
    holding, release = threading.Event(), threading.Event()

    def hold():
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        holding.set()
        release.wait(60)
        connection.execute("ROLLBACK")
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    client = committed_app.test_client()
    try:
        assert holding.wait(10)
        token = csrf_token(client, "/auth/sign-in")  # the page itself needs no database
        response = client.post("/auth/sign-in", data={"username": "nobody", "password": "wrong", "csrf_token": token})
    finally:
        release.set()
        holder.join(30)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    again = client.post("/auth/sign-in", data={"username": "nobody", "password": "wrong", "csrf_token": token})
    assert again.status_code < 500
