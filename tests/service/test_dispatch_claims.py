"""Exactly-once delivery that does not depend on timing (issue 17, item 3).

A dispatcher run owns its claims: it extends them while it lives, re-asserts them before each
message and writes an outcome only where it still holds them; an attempt counts when a message
is tried; nothing of the database is held while a message travels; a hanging host delays only
its own notices, and a host that keeps failing is skipped for a while. Real receivers on
127.0.0.1 (HTTP servers, an SMTP server, a socket that never answers), real commits seen by
several connections, and real processes where the claim is about several processes.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Notification, WebhookSubscription
from app.models.enums import Channel, NotificationStatus, Role
from app.services.notices import claim_due, dispatch_pending
from app.services.notices.breakers import BREAKERS
from app.services.notices.outbox import enqueue
from tests import smtp as smtp_server
from tests.factories import make_department, make_user

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_breakers():
    """The circuit breakers live in the process: each test starts with every host trusted."""
    BREAKERS.clear()
    yield
    BREAKERS.clear()


class Receiver:
    """A webhook receiver on 127.0.0.1 that records each delivery's key; it can take its time
    (``delay`` seconds), wait for ``gate`` before answering (every delivery, or only the first
    one of the keys in ``hold``), call ``on_request`` first, and answer ``status``. Threaded: two
    dispatchers are answered side by side."""

    def __init__(self, delay: float = 0.0, status: int = 204, gate: threading.Event | None = None,
                 on_request=None, hold: set[str] | None = None):
        self.delay, self.status, self.gate, self.on_request, self.hold = delay, status, gate, on_request, hold
        self.keys: list[str] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["X-Casedesk-Key"]
                receiver.keys.append(key)
                receiver.arrived.set()
                if receiver.on_request is not None:
                    receiver.on_request(key)
                if receiver.gate is not None and (receiver.hold is None or (
                        key in receiver.hold and receiver.keys.count(key) == 1)):
                    receiver.gate.wait(30)
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def start(**kw) -> Receiver:
        made.append(Receiver(**kw))
        return made[-1]

    yield start
    for r in made:
        r.close()


class Silent:
    """An SMTP host that accepts connections and never says a word (a hung mail server)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def _hooks(url: str, n: int, prefix: str = "slow") -> list[str]:
    """``n`` notices to one department subscribed at ``url``; their webhook rows' keys."""
    department = make_department()
    db.session.add(WebhookSubscription(department_id=department.id, name="receiver", url=url,
                                       secret="s3cret-for-tests", events=["*"]))
    db.session.flush()
    for i in range(n):
        enqueue(f"{prefix}:{i}", "case_referred", {"case": f"YY-{i}"}, department_id=department.id)
    db.session.commit()
    return list(db.session.scalars(select(Notification.key).where(Notification.channel == Channel.WEBHOOK,
                                                                   Notification.key.like(f"{prefix}:%"))
                                    .order_by(Notification.id)))


def _by_key(app) -> dict[str, Notification]:
    with app.app_context():
        rows = {n.key: n for n in db.session.scalars(select(Notification))}
        db.session.expunge_all()
        db.session.remove()
    return rows


def _in_thread(app, **config):
    """``dispatch_pending`` in a thread of its own, with an application context of its own."""
    outcome: dict = {}

    def run():
        with app.app_context():
            try:
                outcome["result"] = dispatch_pending()
            except BaseException as error:  # shown by the test that joins
                outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# -- claims: owned, renewed, lapsing only when their holder is gone ------------------------------

def test_a_claim_counts_no_attempt_and_a_dead_runs_notices_go_out_after_the_lapse(app, db, receivers):
    hook = receivers()
    keys = _hooks(hook.url, 2, prefix="dead")
    with clock.frozen_clock(clock.local(clock.now()).replace(tzinfo=None)) as frozen:
        assert len(claim_due(10)) == 4  # a run took them (two inbox rows, two webhooks) and died
        rows = db.session.scalars(select(Notification)).all()
        assert {n.attempts for n in rows} == {0} and {n.status for n in rows} == {NotificationStatus.SENDING}
        assert dispatch_pending().claimed == 0  # held: the run might still be alive
        frozen.advance(timedelta(seconds=app.config["NOTIFY_CLAIM_SECONDS"] + 1))
        result = dispatch_pending()
    assert result.claimed == 4 and result.sent == 4
    assert sorted(hook.keys) == sorted(keys)
    for notice in db.session.scalars(select(Notification)):
        db.session.refresh(notice)
        assert (notice.status, notice.attempts, notice.claimed_by) == (NotificationStatus.SENT, 1, None)


def test_notices_held_by_another_run_do_not_use_up_the_next_runs_limit(db):
    user = make_user(Role.OFFICER)
    for i in range(2):
        enqueue(f"limit:{i}", "case_submitted", {"case": f"X-{i}"}, user_id=user.id)
    db.session.commit()
    first = claim_due(1, "one-run")
    second = claim_due(1, "another-run")
    assert len(first) == len(second) == 1 and first != second


def test_a_run_sends_nothing_it_no_longer_holds_and_writes_no_outcome_there(committed_app, receivers):
    """Another run took over both webhooks while the first one's message travelled (as after a
    lapse): the first run neither marks the one in flight nor sends the next one."""
    stolen = []

    def steal(key):
        with committed_app.app_context():
            db.session.execute(sa.update(Notification).where(Notification.channel == Channel.WEBHOOK)
                               .values(claimed_by="another-run", claimed_until=clock.now() + timedelta(hours=1)))
            db.session.commit()
            db.session.remove()
        stolen.append(key)

    hook = receivers(on_request=lambda key: None if stolen else steal(key))
    with committed_app.app_context():
        first, second = _hooks(hook.url, 2)
        db.session.remove()
    with committed_app.app_context():
        result = dispatch_pending()
        db.session.remove()
    assert hook.keys == [first]  # the second was no longer held when its turn came
    rows = _by_key(committed_app)
    assert (rows[first].status, rows[first].claimed_by) == (NotificationStatus.SENDING, "another-run")
    assert (rows[second].attempts, rows[second].claimed_by) == (0, "another-run")
    assert result.sent == 2  # the inbox rows


def test_two_dispatchers_beside_a_slow_receiver_deliver_each_webhook_once(committed_app, receivers):
    """Each delivery takes longer than the claim's lapse: the first run's heartbeat keeps its
    claim, so the second, started while the first is still sending, finds nothing to take, and
    is done while the first one's last message is still held by the receiver."""
    committed_app.config.update(NOTIFY_CLAIM_SECONDS=0.5)
    gate = threading.Event()
    hook = receivers(delay=0.8, gate=gate)
    with committed_app.app_context():
        keys = _hooks(hook.url, 3)
        db.session.remove()
    hook.hold = {keys[-1]}
    first, first_outcome = _in_thread(committed_app)
    try:
        assert hook.arrived.wait(10)
        time.sleep(0.7)  # past the lapse of the first claim
        second, second_outcome = _in_thread(committed_app)
        second.join(30)
    finally:
        gate.set()
    first.join(30)
    assert "error" not in first_outcome and "error" not in second_outcome, (first_outcome, second_outcome)
    assert Counter(hook.keys) == dict.fromkeys(keys, 1)
    assert second_outcome["result"].claimed == 0
    rows = _by_key(committed_app)
    assert all(rows[k].status == NotificationStatus.SENT and rows[k].attempts == 1 for k in keys)


# -- nothing of the database held while a message travels --------------------------------------

def test_the_database_takes_writes_while_the_dispatcher_waits_on_a_receiver(committed_app, receivers):
    gate = threading.Event()
    hook = receivers(gate=gate)
    with committed_app.app_context():
        _hooks(hook.url, 1)
        user = make_user(Role.OFFICER)
        db.session.commit()
        user_id = user.id
        db.session.remove()
    dispatcher, outcome = _in_thread(committed_app)
    try:
        assert hook.arrived.wait(10)
        url = sa.engine.make_url(committed_app.config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() == "sqlite":  # another process's connection: a short busy timeout
            with sqlite3.connect(url.database, timeout=0.5, isolation_level=None) as other:
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE user_account SET locale = 'en' WHERE id = ?", (user_id,))
                other.execute("COMMIT")
        else:
            engine = sa.create_engine(url)
            with engine.begin() as other:
                other.exec_driver_sql("SET LOCAL lock_timeout = '500ms'")
                other.execute(sa.text("UPDATE user_account SET locale = 'en' WHERE id = :id"), {"id": user_id})
            engine.dispose()
        assert dispatcher.is_alive()  # the write went through while the receiver still held the message
    finally:
        gate.set()
        dispatcher.join(30)
    assert "error" not in outcome, outcome
    assert outcome["result"].sent == 2


# -- per-host lanes: a hanging host delays only its own notices ---------------------------------

def test_a_hanging_smtp_server_delays_neither_the_inbox_nor_the_webhooks(committed_app, receivers):
    silent = Silent()
    committed_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=silent.port, SMTP_TIMEOUT=2.5)
    hook = receivers()
    try:
        with committed_app.app_context():
            department = make_department(contact_email="credit@dept.example.cn")
            db.session.add(WebhookSubscription(department_id=department.id, name="r", url=hook.url,
                                               secret="s3cret-for-tests", events=["*"]))
            db.session.flush()
            for i in range(2):  # interleaved by id: inbox, e-mail, webhook, inbox, ...
                enqueue(f"hang:{i}", "case_referred", {"case": f"YY-{i}"}, department_id=department.id)
            db.session.commit()
            db.session.remove()
        dispatcher, outcome = _in_thread(committed_app)
        deadline = time.monotonic() + 2  # less than one SMTP_TIMEOUT
        while time.monotonic() < deadline:
            rows = _by_key(committed_app)
            others = [n for n in rows.values() if n.channel != Channel.EMAIL]
            if len(hook.keys) == 2 and all(n.status == NotificationStatus.SENT for n in others):
                break
            time.sleep(0.1)
        assert len(hook.keys) == 2 and all(n.status == NotificationStatus.SENT for n in others), rows
        assert dispatcher.is_alive()  # still waiting on the mail server
        dispatcher.join(30)
    finally:
        committed_app.config.update(SMTP_HOST=None, SMTP_PORT=25, SMTP_TIMEOUT=10)
        silent.close()
    assert "error" not in outcome, outcome
    emails = [n for n in _by_key(committed_app).values() if n.channel == Channel.EMAIL]
    assert len(emails) == 2 and all(n.status == NotificationStatus.PENDING and "SMTP" in n.last_error
                                    and n.attempts == 1 for n in emails)


def test_a_hanging_webhook_host_delays_only_its_own_notices(committed_app, receivers):
    gate = threading.Event()
    stuck, fine = receivers(gate=gate), receivers()
    with committed_app.app_context():
        _hooks(stuck.url, 2, prefix="stuck")
        fine_keys = _hooks(fine.url, 3, prefix="fine")
        db.session.remove()
    dispatcher, outcome = _in_thread(committed_app)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(fine.keys) < 3:
            time.sleep(0.05)
        assert sorted(fine.keys) == sorted(fine_keys) and len(stuck.keys) == 1
    finally:
        gate.set()
        dispatcher.join(30)
    assert outcome["result"].sent == 10


def test_a_lane_whose_time_is_up_leaves_its_notices_untried_for_the_next_run(app, db, receivers):
    hook = receivers()
    keys = _hooks(hook.url, 2, prefix="budget")
    app.config.update(NOTIFY_RUN_BUDGET_SECONDS=0)
    try:
        result = dispatch_pending()
    finally:
        app.config.update(NOTIFY_RUN_BUDGET_SECONDS=120)
    assert (result.sent, result.postponed, hook.keys) == (2, 2, [])  # the inbox rows went
    left = db.session.scalars(select(Notification).where(Notification.key.in_(keys))).all()
    assert all((n.status, n.attempts, n.claimed_by) == (NotificationStatus.PENDING, 0, None) for n in left)
    assert dispatch_pending().sent == 2 and sorted(hook.keys) == sorted(keys)


# -- circuit breaking ---------------------------------------------------------------------------

def test_a_webhook_host_that_keeps_failing_is_skipped_for_a_while(app, db, receivers, caplog):
    hook = receivers(status=500)
    keys = _hooks(hook.url, 5, prefix="flaky")
    app.config.update(NOTIFY_BREAKER_FAILURES=3, NOTIFY_BREAKER_SECONDS=600)
    try:
        with clock.frozen_clock(clock.local(clock.now()).replace(tzinfo=None)) as frozen:
            result = dispatch_pending()
            assert len(hook.keys) == 3 and (result.retrying, result.postponed) == (3, 2)
            rows = {n.key: n for n in db.session.scalars(select(Notification).where(Notification.key.in_(keys)))}
            assert [rows[k].attempts for k in keys] == [1, 1, 1, 0, 0]
            skipped = [rows[k] for k in keys[3:]]
            assert all(n.status == NotificationStatus.PENDING and "skipped until" in n.last_error
                       and n.next_attempt_at == clock.now() + timedelta(seconds=600) for n in skipped)
            assert any("failed 3 times in a row" in r.getMessage() for r in caplog.records)
            frozen.advance(timedelta(seconds=61))  # the first three are due again, the host still skipped
            assert dispatch_pending().postponed == 3 and len(hook.keys) == 3
            frozen.advance(timedelta(seconds=600))  # cool-off over: one try, failed, skipped again
            again = dispatch_pending()
            assert len(hook.keys) == 4 and again.retrying == 1 and again.postponed == 4
            hook.status = 204
            frozen.advance(timedelta(seconds=601))  # the host answers again: all go
            assert dispatch_pending().sent == 5 and len(hook.keys) == 9
    finally:
        app.config.update(NOTIFY_BREAKER_FAILURES=5, NOTIFY_BREAKER_SECONDS=300)


def test_an_smtp_host_that_keeps_failing_is_skipped_for_a_while(app, db):
    with socket.socket() as probe:  # a port nothing listens on: refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, NOTIFY_BREAKER_FAILURES=2)
    try:
        for i in range(4):
            user = make_user(Role.OFFICER, email=f"o{i}@platform.example.cn")
            enqueue(f"mail:{i}", "case_submitted", {"case": f"X-{i}"}, user_id=user.id)
        db.session.commit()
        result = dispatch_pending()
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25, NOTIFY_BREAKER_FAILURES=5)
    assert (result.sent, result.retrying, result.postponed) == (4, 2, 2)
    emails = db.session.scalars(select(Notification).where(Notification.channel == Channel.EMAIL)
                                .order_by(Notification.id)).all()
    assert [n.attempts for n in emails] == [1, 1, 0, 0]


def test_the_same_mail_sent_again_after_a_crash_carries_the_same_message_id(app, db):
    """Attempts counted when tried: a run that died after the mail server took the message
    leaves the notice claimed; the next run sends it again, with the same Message-ID."""
    from email import message_from_bytes

    class Box:
        def __init__(self):
            self.ids = []

        async def handle_DATA(self, server, session, envelope):
            self.ids.append(message_from_bytes(envelope.content)["Message-ID"])
            return "250 OK"

    with smtp_server.serving(app, Box()) as box:
        user = make_user(Role.OFFICER, email="officer@platform.example.cn")
        enqueue("crash:1", "case_submitted", {"case": "YY-1"}, user_id=user.id)
        db.session.commit()
        dispatch_pending()
        email = db.session.scalars(select(Notification).where(Notification.key == "crash:1:email")).one()
        email.status, email.claimed_by, email.claimed_until = NotificationStatus.SENDING, "died", clock.now()
        db.session.commit()
        dispatch_pending()
    assert len(box.ids) == 2 and box.ids[0] == box.ids[1]
    db.session.refresh(email)
    assert (email.status, email.attempts) == (NotificationStatus.SENT, 2)


# -- real processes -----------------------------------------------------------------------------

def _env(app, **extra) -> dict:
    env = {**os.environ, "CASEDESK_ENV": "development", "SECRET_KEY": "x" * 40,
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "CASEDESK_INSTANCE": str(Path(app.config["UPLOAD_DIR"]).parent),
           "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32", "WEBHOOK_REQUIRE_HTTPS": "false",
           "NOTIFY_CLAIM_SECONDS": "1", **extra}
    env.pop("TEST_DATABASE_URL", None)
    return env


def _cli_dispatch(app) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "dispatch"], cwd=ROOT,
                            env=_env(app), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# A dispatcher process without the job's lock: two of them rely on their claims alone.
_BARE = ("from wsgi import app\n"
         "from app.services.notices import dispatch_pending\n"
         "with app.app_context():\n"
         "    print(dispatch_pending())\n")


def _bare_dispatch(app) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _BARE], cwd=ROOT, env=_env(app),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("start", [_cli_dispatch, _bare_dispatch], ids=["cli", "without-job-lock"])
def test_two_dispatcher_processes_beside_a_slow_receiver_deliver_each_webhook_once(committed_app, receivers, start):
    """The receiver takes 1.5 s a delivery, the claim lapses after 1 s; the second process starts
    when the first one's claim would have lapsed, and is done while the receiver still holds the
    first one's last message."""
    gate = threading.Event()
    hook = receivers(delay=1.5, gate=gate)
    with committed_app.app_context():
        keys = _hooks(hook.url, 3)
        db.session.remove()
    hook.hold = {keys[-1]}
    first = start(committed_app)
    try:
        assert hook.arrived.wait(30), first.communicate(timeout=30)[0]
        time.sleep(1.5)
        second = start(committed_app)
        outputs = [second.communicate(timeout=60)[0]]
        gate.set()
        outputs.append(first.communicate(timeout=60)[0])
    finally:
        gate.set()
        first.kill()
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert Counter(hook.keys) == dict.fromkeys(keys, 1), outputs
    rows = _by_key(committed_app)
    assert all((rows[k].status, rows[k].attempts) == (NotificationStatus.SENT, 1) for k in keys)


@pytest.mark.slow
def test_a_dispatcher_killed_mid_run_leaves_its_untried_notices_untouched(committed_app, receivers):
    gate = threading.Event()
    hook = receivers(gate=gate)
    with committed_app.app_context():
        keys = _hooks(hook.url, 3)
        db.session.remove()
    process = _cli_dispatch(committed_app)
    try:
        assert hook.arrived.wait(30), process.communicate(timeout=30)[0]
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
        process.stdout.close()
        gate.set()
    rows = _by_key(committed_app)
    assert [rows[k].attempts for k in keys] == [1, 0, 0]  # only the one in flight was tried
    assert all(rows[k].status == NotificationStatus.SENDING for k in keys)
    time.sleep(1.2)  # the dead run's claim lapses
    with committed_app.app_context():
        result = dispatch_pending()
        db.session.remove()
    assert result.claimed == 3 and result.sent == 3
    # The one in flight when the process died goes again, with its key, for the receiver to drop.
    assert Counter(hook.keys) == {keys[0]: 2, keys[1]: 1, keys[2]: 1}
    rows = _by_key(committed_app)
    assert [rows[k].attempts for k in keys] == [2, 1, 1]
    assert json.dumps([rows[k].status for k in keys]) == json.dumps([NotificationStatus.SENT] * 3)


def test_a_message_that_cannot_be_made_is_retried_and_the_run_goes_on(app, db, monkeypatch):
    """A fault in a send-time maker (or a text) fails that message, not the run."""
    from email import message_from_bytes

    from app.services.notices.delivery import SEND_TIME_FIELDS

    class Box:
        def __init__(self):
            self.cases = []

        async def handle_DATA(self, server, session, envelope):
            self.cases.append(message_from_bytes(envelope.content)["Subject"])
            return "250 OK"

    def maker(notice):
        if notice.payload["case"] == "BROKEN":
            raise RuntimeError("the maker broke")
        return {}

    monkeypatch.setitem(SEND_TIME_FIELDS, "case_submitted", maker)
    with smtp_server.serving(app, Box()) as box:
        for case in ("BROKEN", "FINE"):
            user = make_user(Role.OFFICER, email=f"{case.lower()}@platform.example.cn")
            enqueue(f"make:{case}", "case_submitted", {"case": case}, user_id=user.id)
        db.session.commit()
        result = dispatch_pending()
    assert (result.sent, result.retrying) == (3, 1) and len(box.cases) == 1
    broken = db.session.scalars(select(Notification).where(Notification.key == "make:BROKEN:email")).one()
    assert (broken.status, broken.attempts, broken.claimed_by) == (NotificationStatus.PENDING, 1, None)
    assert "the maker broke" in broken.last_error


def test_the_cli_does_not_dispatch_beside_the_schedulers_run(committed_app):
    from app.services.admin import job_lock

    with committed_app.app_context():
        user = make_user(Role.OFFICER)
        enqueue("cli:1", "case_submitted", {"case": "X"}, user_id=user.id)
        db.session.commit()
        with job_lock("dispatch") as held:
            assert held
            skipped = committed_app.test_cli_runner().invoke(args=["outbox", "dispatch"])
        ran = committed_app.test_cli_runner().invoke(args=["outbox", "dispatch"])
        db.session.remove()
    assert skipped.exit_code == 0 and "skipped" in skipped.output
    assert ran.exit_code == 0 and "claimed 1, sent 1" in ran.output
