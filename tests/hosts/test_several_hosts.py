"""Several hosts on one PostgreSQL (issue 17, item 6): two gunicorn processes and two schedulers,
a bounded load of public pages, public queries, sign-ins, a signed-in page and complaints, while
one web process and one scheduler are killed (SIGKILL) and the database server is restarted.

Afterwards: every due record retired once with one event, every department's digest counting
what was retired, every webhook and e-mail delivered (none lost) and once: the one repeat allowed
is of a delivery in flight when its dispatcher was killed, under the same key and Message-ID;
every filed complaint filed once; and every request answered or refused cleanly: 2xx, 3xx, 4xx,
or 503 with Retry-After. A request to the killed web process is tried again on the other one, as a load
balancer would (a complaint carries its form's one-time token, so its repeat files nothing new).

All real: a private PostgreSQL cluster (tests/cluster.py; the shared server is never restarted),
gunicorn, ``flask scheduler run``, an SMTP server (aiosmtpd) and a webhook receiver on 127.0.0.1.
The processes run the development configuration, its settings from the environment as in
production (DATABASE_URL, SECRET_KEY, PUBLIC_BASE_URL, SMTP_HOST): it is the nearest to production
over plain http. Production refuses plain-http webhooks (WEBHOOK_REQUIRE_HTTPS), sends its session
cookie over https only and asks staff for a second factor; development's demo mode only lists the
demo accounts on the sign-in page, which this test does not use.
"""
from __future__ import annotations

import asyncio
import email
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.cluster import Cluster, free_port, pg_bin

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(pg_bin() is None, reason="needs PostgreSQL's server programs (initdb, pg_ctl) to run a "
                                                "cluster of its own: apt-get install postgresql"),
]

DEPARTMENTS = 4
DUE_RECORDS = 4000  # over DEPARTMENTS departments; their publicity is over: the expiry retires them
KEPT_RECORDS = 200  # still in publicity: nothing may retire them
SUBJECTS = 200
ACCOUNTS = 12  # subjects with a verified account (with an address): they hear of their retired records
OBJECTIONS_PER_ACCOUNT = 3  # referred to the department, their deadlines made past: the SLA sweep breaches them
LOAD_THREADS = 4
LOAD_SECONDS = 20
KILL_AT = 5  # seconds into the load
RESTART_AT = 10
DRAIN_SECONDS = 75  # after the load, for the surviving scheduler (dispatch runs every 30 s)
# The receivers' time per delivery: the first dispatch run (the backlog the seeding left) lasts
# long enough for the kill to find it in the middle.
HOOK_DELAY = 0.1
MAIL_DELAY = 0.08
TIMEOUT = 20  # a request without an answer by then hangs
PASSWORD = "correct horse battery"  # tests/factories.PASSWORD


# ---------------------------------------------------------------- receivers


class Hooks:
    """A webhook receiver on 127.0.0.1 counting deliveries by X-Casedesk-Key."""

    def __init__(self, delay: float):
        self.keys: Counter[str] = Counter()
        self.lock = threading.Lock()
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay)
                with hooks.lock:
                    hooks.keys[self.headers.get("X-Casedesk-Key", "?")] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hooks:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """An aiosmtpd handler counting the messages by Message-ID, and the notice keys they carry."""

    def __init__(self, delay: float):
        self.delay = delay
        self.message_ids: Counter[str] = Counter()
        self.keys: Counter[str] = Counter()
        self.message_ids_of: dict[str, set[str]] = {}  # notice key -> the Message-IDs that carried it
        self.truncated = 0

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content)
        self.message_ids[message["Message-ID"]] += 1
        header = str(message.get("X-Casedesk-Keys") or "")
        keys = header.split(",")
        if len(header) >= 900:  # the dispatcher cuts the header at 900 characters
            keys, self.truncated = keys[:-1], self.truncated + 1
        for key in (k.strip() for k in keys if k.strip()):
            self.keys[key] += 1
            self.message_ids_of.setdefault(key, set()).add(message["Message-ID"])
        return "250 OK"


# ---------------------------------------------------------------- the data


@dataclass
class Seeded:
    due: set[int]
    kept: set[int]
    due_by_department: Counter
    breached_timers: set[int]
    accounts: list[tuple[str, int]]  # user name, department to complain about
    query_codes: list[str]


def _seed(url: str, uploads: Path, smtp_port: int, hook_port: int) -> Seeded:
    """What the hosts work on, written through the product's own factories and services."""
    from app import clock, create_app
    from app.extensions import db
    from app.models import CreditRecord, Timer, WebhookSubscription
    from app.models.enums import CaseKind, RecordClass, Role, TimerStatus
    from app.services.policy import get_policy_in_force
    from app.services.records import build_record
    from tests.factories import act, make_department, make_subject, make_user, submit
    from workflows import IN_PUBLICITY

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(uploads), "SMTP_HOST": "127.0.0.1",
                      "SMTP_PORT": smtp_port})
    with app.app_context():
        today = clock.today()
        policy = get_policy_in_force()
        departments = [make_department(contact_email=f"dept{n}@hosts.test") for n in range(DEPARTMENTS)]
        for n, department in enumerate(departments):
            for k in range(2):
                db.session.add(WebhookSubscription(department_id=department.id, name=f"d{n}-{k}",
                                                   url=f"http://127.0.0.1:{hook_port}/d{n}/{k}", secret="s" * 32,
                                                   events=["*"]))
        db.session.add(WebhookSubscription(department_id=None, name="downstream", secret="t" * 32,
                                           url=f"http://127.0.0.1:{hook_port}/all", events=["records_retired"]))
        subjects = [make_subject() for _ in range(SUBJECTS)]
        officer = make_user(Role.OFFICER, email="officer@hosts.test")
        make_user(Role.SUPERVISOR, email="supervisor@hosts.test")
        # Each record's dates as build_record computes them under the policy (one build per
        # decision date), the rows written in one statement: thousands of builds would each ask
        # the calendar again.
        built: dict = {}

        def record_row(severity, decision_date, i, prefix) -> dict:
            if (severity, decision_date) not in built:
                built[(severity, decision_date)] = build_record(
                    subjects[0], departments[0], severity=severity, policy=policy, decision_date=decision_date,
                    category="administrative_penalty", decision_number="-", facts="f", sanction="s",
                    sanction_kinds=["fine"])
            template = built[(severity, decision_date)]
            columns = ("category", "severity", "decision_date", "facts", "sanction", "sanction_kinds", "is_public",
                       "withheld_reason", "publicity_start", "shortest_publicity_end", "publicity_end",
                       "policy_version", "published_at", "published_late")
            return {**{c: getattr(template, c) for c in columns}, "subject_id": subjects[i % SUBJECTS].id,
                    "department_id": departments[i % DEPARTMENTS].id, "decision_number": f"{prefix}-{i:06d}"}

        with db.session.no_autoflush:
            rows = [record_row(RecordClass.MINOR, today - timedelta(days=150 + i % 60), i, "H")  # publicity long over
                    for i in range(DUE_RECORDS)]
            rows += [record_row(RecordClass.GENERAL, today - timedelta(days=10 + i % 20), i, "K")  # a year, just begun
                     for i in range(KEPT_RECORDS)]
        for template in built.values():  # a pattern, not a record
            if template in db.session:
                db.session.expunge(template)
        db.session.execute(sa.insert(CreditRecord), rows)
        db.session.commit()
        kept = db.session.scalars(sa.select(CreditRecord).where(CreditRecord.decision_number.like("K-%"))).all()
        accounts = []
        for n in range(ACCOUNTS):
            subject = subjects[n]
            applicant = make_user(Role.APPLICANT, subject=subject, username=f"host-user-{n}",
                                  email=f"user{n}@hosts.test")
            own = [r for r in kept if r.subject_id == subject.id][:OBJECTIONS_PER_ACCOUNT]
            for record in own:
                case = submit(applicant, CaseKind.OBJECTION, record)
                act(case, "accept", officer)
                act(case, "refer", officer)
            accounts.append((applicant.username, departments[n % DEPARTMENTS].id))
        db.session.commit()
        # The referrals' deadlines (and the others running) are over: the SLA sweep breaches them.
        running = db.session.scalars(sa.select(Timer).where(Timer.status == TimerStatus.RUNNING)).all()
        for timer in running:
            timer.due_at = clock.now() - timedelta(days=2)
        db.session.commit()
        rows = db.session.execute(sa.select(CreditRecord.id, CreditRecord.department_id, CreditRecord.state,
                                            CreditRecord.publicity_end)).all()
        due = {r.id for r in rows if r.state in IN_PUBLICITY and r.publicity_end < today}
        seeded = Seeded(
            due=due, kept={r.id for r in rows} - due,
            due_by_department=Counter(r.department_id for r in rows if r.id in due),
            breached_timers={t.id for t in running}, accounts=accounts,
            query_codes=[s.identifier for s in subjects[:20]],
        )
        db.session.remove()
        db.engine.dispose()
    assert len(seeded.due) == DUE_RECORDS and len(seeded.kept) == KEPT_RECORDS
    return seeded


# ---------------------------------------------------------------- processes


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    killed_at: float | None = None

    @property
    def alive(self) -> bool:
        return self.killed_at is None and self.popen.poll() is None


def _env(url: str, instance: Path, smtp_port: int, base_url: str, name: str) -> dict:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
        "CASEDESK_ENV": "development", "CASEDESK_INSTANCE": str(instance), "UPLOAD_DIR": str(instance / "uploads"),
        "DATABASE_URL": url, "SECRET_KEY": "several-hosts-" + "k" * 40, "PUBLIC_BASE_URL": base_url,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port),
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        # One address (127.0.0.1) sends the whole load: the per-address throttles must not answer it.
        "SIGNIN_LIMIT_PER_ADDRESS": "100000 per hour", "PUBLIC_QUERY_LIMIT_PER_ADDRESS": "100000 per hour",
        "PUBLIC_QUERY_LIMIT_PER_IDENTIFIER": "100000 per hour",
        "PGAPPNAME": name,  # which process holds which lock, in pg_stat_activity
    }


def _start(name: str, command: list[str], env: dict, logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("w") as out:  # the child keeps its own descriptor
        popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)  # its own group: a kill takes its workers too
    return Process(name, popen, log)


def _kill(process: Process) -> None:
    """SIGKILL, as a host that dies: the process and its children (gunicorn's worker)."""
    process.killed_at = time.monotonic()
    os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait(10)


def _stop(process: Process) -> None:
    if process.popen.poll() is None:
        os.killpg(process.popen.pid, signal.SIGTERM)
        try:
            process.popen.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(10)


def _wait_ready(base: str, process: Process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.popen.poll() is None, process.log.read_text()[-3000:]
        try:
            if requests.get(base + "/", timeout=15).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # still starting (a busy machine is slow to)
            pass
        time.sleep(0.2)
    raise AssertionError(f"{process.name} did not answer: {process.log.read_text()[-3000:]}")


def _wait_logged(process: Process, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.popen.poll() is None, process.log.read_text()[-3000:]
        if text in process.log.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{process.name} did not log {text!r}: {process.log.read_text()[-3000:]}")


# ---------------------------------------------------------------- the load


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    unclean: list = field(default_factory=list)  # (second, host, method, path, what)
    retried: int = 0  # requests to the killed host tried again on the other
    filed: dict = field(default_factory=dict)  # complaint form token -> the case page it led to
    signed_in_pages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Balancer:
    """Round robin over the web processes; a connection refused or cut by a process that was
    killed is tried again on another, as a load balancer's health checks would soon take it out."""

    def __init__(self, hosts: list[tuple[str, Process]], tally: Tally, t0: float):
        self.hosts, self.tally, self.t0 = hosts, tally, t0
        self.turn = itertools.count()

    def request(self, session: requests.Session, method: str, path: str, **kw) -> requests.Response | None:
        first = next(self.turn) % len(self.hosts)
        order = self.hosts[first:] + self.hosts[:first]
        for base, process in order:
            if process.killed_at is not None and any(p.killed_at is None for _, p in order):
                continue  # taken out of the pool
            try:
                response = session.request(method, base + path, timeout=TIMEOUT, allow_redirects=False, **kw)
            except requests.Timeout:
                self._unclean(process, method, path, "no answer (hang)")
                return None
            except requests.ConnectionError as error:
                if process.killed_at is not None or process.popen.poll() is not None:
                    with self.tally.lock:
                        self.tally.retried += 1
                    continue
                self._unclean(process, method, path, f"connection error from a living process: {error}")
                return None
            with self.tally.lock:
                self.tally.statuses[response.status_code] += 1
            clean = response.status_code < 500 or (response.status_code == 503 and "Retry-After" in response.headers)
            if not clean:
                self._unclean(process, method, path, f"HTTP {response.status_code}")
            return response
        self._unclean(None, method, path, "no web process left")
        return None

    def _unclean(self, process: Process | None, method: str, path: str, what: str) -> None:
        with self.tally.lock:
            self.tally.unclean.append((round(time.monotonic() - self.t0, 1), process and process.name, method,
                                       path, what[:300]))


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_FORM_TOKEN = re.compile(r'name="form_token" type="hidden" value="([^"]+)"')


def _field(pattern: re.Pattern, response: requests.Response | None) -> str | None:
    if response is None or response.status_code != 200:
        return None
    found = pattern.search(response.text)
    return found.group(1) if found else None


def _visitor(balancer: Balancer, account: tuple[str, int], codes: list[str], stop: threading.Event) -> None:
    """One person: the public pages and query, then signed in: the portal, now and then a complaint."""
    username, department_id = account
    tally = balancer.tally
    with requests.Session() as session:
        signed_in = False
        for n in itertools.count():
            if stop.is_set():
                return
            balancer.request(session, "GET", "/")
            csrf = _field(_CSRF, balancer.request(session, "GET", "/query"))
            if csrf:
                balancer.request(session, "POST", "/query",
                                 data={"csrf_token": csrf, "identifier": codes[n % len(codes)], "person_name": ""})
            if not signed_in:
                csrf = _field(_CSRF, balancer.request(session, "GET", "/auth/sign-in"))
                if csrf:
                    answer = balancer.request(session, "POST", "/auth/sign-in",
                                              data={"csrf_token": csrf, "username": username, "password": PASSWORD,
                                                    "next": ""})
                    signed_in = answer is not None and answer.status_code == 302
            if signed_in:
                page = balancer.request(session, "GET", "/portal/")
                if page is not None and page.status_code == 200:
                    with tally.lock:
                        tally.signed_in_pages += 1
                elif page is not None and page.status_code == 302:
                    signed_in = False  # the session is gone: sign in again
            if signed_in and n % 3 == 0:
                form = balancer.request(session, "GET", "/portal/complaints/new")
                csrf, token = _field(_CSRF, form), _field(_FORM_TOKEN, form)
                if csrf and token:
                    answer = balancer.request(session, "POST", "/portal/complaints/new", data={
                        "csrf_token": csrf, "form_token": token, "record_id": "0", "about_case_id": "0",
                        "department_id": str(department_id), "title": f"投诉 {username} {n}",
                        "statement": "多主机测试的投诉", "submit_anyway": "y"})
                    if answer is not None and answer.status_code == 302:
                        with tally.lock:
                            tally.filed[token] = answer.headers.get("Location", "")
            time.sleep(0.02)


# ---------------------------------------------------------------- the database afterwards


_OWED = "status = 'sending' OR (status = 'pending' AND next_attempt_at <= now())"


def _outstanding(engine: sa.Engine) -> int:
    """Notices the dispatchers owe now: due, or claimed and not marked sent. (A notice held until
    working hours, or a digest until its run ends, is not owed yet.)"""
    with engine.connect() as connection:
        return connection.scalar(sa.text(f"SELECT count(*) FROM notification WHERE {_OWED}"))


def _running_jobs(engine: sa.Engine, schedulers: list[Process]) -> dict[str, str]:
    """Job -> the scheduler running it now: its heartbeat says started and not finished, on the
    host and pid ``last_host`` names."""
    by_pid = {str(s.popen.pid): s.name for s in schedulers}
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT name, last_host FROM job_run WHERE last_started_at IS NOT NULL"
            " AND (last_finished_at IS NULL OR last_finished_at < last_started_at)")).all()
    return {name: by_pid.get(str(host).rpartition(":")[2], str(host)) for name, host in rows}


def _claimed(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(sa.text("SELECT key FROM notification WHERE status = 'sending'")))


def _check(engine: sa.Engine, seeded: Seeded, hooks: Hooks, mailbox: Mailbox, tally: Tally,
           in_flight: set[str]) -> tuple[dict, list]:
    """What the hosts did, against what they had to do. ``in_flight``: the notices claimed when the
    dispatcher was killed. One of them may have reached its receiver before the dispatcher could
    record it: sent again, it carries the same key (X-Casedesk-Key, Message-ID) for the receiver to
    drop, and that one repeat is the only one allowed (no sender can tell a message that arrived
    from one that did not, once it is dead)."""
    from app.services.cases.submission import form_token_hash

    problems: list[str] = []
    with engine.connect() as connection:
        q = lambda sql, **kw: connection.execute(sa.text(sql), kw).all()  # noqa: E731
        records = {r.id: r for r in q("SELECT id, department_id, state FROM credit_record")}
        events = Counter(r.record_id for r in q("SELECT record_id FROM record_event WHERE trigger = 'expire'"))
        notices = q("SELECT key, channel, template, status, attempts, recipient_department_id, payload,"
                    f" ({_OWED}) AS owed FROM notification")
        timers = {r.id: r for r in q("SELECT id, breached_at FROM timer")}
        cases = {r.form_token_hash: r.n for r in q(
            "SELECT form_token_hash, count(*) AS n FROM \"case\" WHERE form_token_hash IS NOT NULL"
            " GROUP BY form_token_hash")}
        runs = q("SELECT id, retired FROM expiry_run")
        jobs = q("SELECT name, runs, failures, last_error FROM job_run ORDER BY name")

    not_retired = [i for i in seeded.due if records[i].state != "retired"]
    wrongly_retired = [i for i in seeded.kept if records[i].state == "retired"]
    event_counts = Counter(events[i] for i in seeded.due)
    if not_retired:
        problems.append(f"{len(not_retired)} due records not retired (lost retirements)")
    if wrongly_retired:
        problems.append(f"{len(wrongly_retired)} records still in publicity retired")
    if set(event_counts) - {1}:
        problems.append(f"expire events per due record: {dict(event_counts)} (each must have exactly one)")

    digests: Counter = Counter()
    for n in notices:
        if n.template == "records_retired" and n.channel == "inbox":
            payload = n.payload if isinstance(n.payload, dict) else json.loads(n.payload)
            digests[n.recipient_department_id] += int(payload.get("count", 0))
    if digests != seeded.due_by_department:
        problems.append(f"records_retired digests count {dict(digests)}, the departments' due records are "
                        f"{dict(seeded.due_by_department)}")
    unbreached = [t for t in seeded.breached_timers if timers[t].breached_at is None]
    if unbreached:
        problems.append(f"{len(unbreached)} timers past their deadline not marked breached (lost SLA notices)")

    by_status = Counter((n.channel, n.status) for n in notices)
    undelivered = [n for n in notices if n.owed or n.status == "dead" or (n.status == "pending" and n.attempts)]
    undelivered_by_template = Counter(f"{n.channel}/{n.status}/{n.template}" for n in undelivered)
    held = [n for n in notices if n.status == "pending" and not n.owed and not n.attempts]
    if undelivered:
        problems.append(f"{len(undelivered)} notices not delivered at the end: "
                        f"{dict(Counter((n.channel, n.status) for n in undelivered))} (lost deliveries)")
    hook_rows = {n.key for n in notices if n.channel == "webhook"}
    hooks_doubled = {k: c for k, c in hooks.keys.items() if c > 1}
    hooks_repeated = {k for k, c in hooks_doubled.items() if k in in_flight and c == 2}
    hooks_doubled = {k: c for k, c in hooks_doubled.items() if k not in hooks_repeated}
    hooks_missing = {n.key for n in notices if n.channel == "webhook" and n.status == "sent"} - set(hooks.keys)
    if hooks_doubled:
        problems.append(f"{len(hooks_doubled)} webhooks delivered more than once (beyond the one repeat of a "
                        f"delivery in flight when its dispatcher was killed), e.g. {sorted(hooks_doubled)[:3]}")
    if hooks_missing:
        problems.append(f"{len(hooks_missing)} webhooks marked sent and never received")
    if set(hooks.keys) - hook_rows:
        problems.append(f"webhooks received that the outbox does not hold: {sorted(set(hooks.keys) - hook_rows)[:3]}")
    keys_doubled = {k: c for k, c in mailbox.keys.items() if c > 1}
    new_ids = {k for k in keys_doubled if len(mailbox.message_ids_of[k]) > 1}
    mails_repeated = {k for k, c in keys_doubled.items() if k in in_flight and c == 2 and k not in new_ids}
    keys_doubled = {k: c for k, c in keys_doubled.items() if k not in mails_repeated}
    if new_ids:
        problems.append(f"{len(new_ids)} e-mail notices sent again under a new Message-ID (no mail system can drop "
                        f"the repeat), e.g. {sorted(new_ids)[:3]}")
    if keys_doubled:
        problems.append(f"{len(keys_doubled)} e-mail notices received more than once (beyond the one repeat of a "
                        f"message in flight when its dispatcher was killed), e.g. {sorted(keys_doubled)[:3]}")

    doubled_cases = {h: n for h, n in cases.items() if n > 1}
    unfiled = [t for t in tally.filed if form_token_hash(t) not in cases]
    if doubled_cases:
        problems.append(f"{len(doubled_cases)} complaint forms filed more than once")
    if unfiled:
        problems.append(f"{len(unfiled)} complaints answered as filed and not in the database")
    if tally.unclean:
        kinds = Counter(u[4].split(":")[0] for u in tally.unclean)
        problems.append(f"{len(tally.unclean)} requests not answered cleanly: {dict(kinds)}; first: "
                        f"{tally.unclean[:5]}")

    numbers = {
        "requests": sum(tally.statuses.values()) + len(tally.unclean), "statuses": dict(sorted(tally.statuses.items())),
        "unclean": len(tally.unclean), "retried_on_the_other_host": tally.retried,
        "signed_in_pages": tally.signed_in_pages, "complaints_filed": len(tally.filed),
        "due_records": len(seeded.due), "retired": len(seeded.due) - len(not_retired),
        "expiry_runs": [tuple(r) for r in runs], "notices_by_channel_status": {f"{c}/{s}": n for (c, s), n in
                                                                            sorted(by_status.items())},
        "undelivered": dict(undelivered_by_template),
        # Claimed by the killed dispatcher and already received: resent once the claim lapses.
        "received_but_not_marked_sent": sum(
            1 for n in undelivered if (hooks.keys if n.channel == "webhook" else mailbox.keys).get(n.key)),
        "held_for_later": dict(Counter(f"{n.channel}/{n.template}" for n in held)),
        "webhooks_received": sum(hooks.keys.values()), "webhook_keys": len(hooks.keys),
        "webhooks_doubled": len(hooks_doubled), "webhooks_repeated_after_the_kill": len(hooks_repeated),
        "mails_received": sum(mailbox.message_ids.values()),
        "mails_same_message_id_twice": sum(1 for c in mailbox.message_ids.values() if c > 1),
        "mail_keys_doubled": len(keys_doubled), "mail_keys_repeated_after_the_kill": len(mails_repeated),
        "mail_keys_under_new_message_id": len(new_ids), "claimed_at_the_kill": len(in_flight),
        "mail_headers_truncated": mailbox.truncated, "attempts_max": max((n.attempts for n in notices), default=0),
        "jobs": [tuple(j[:3]) + ((j[3] or "")[:120],) for j in jobs],
    }
    return numbers, problems


# ---------------------------------------------------------------- the test


def test_two_web_hosts_and_two_schedulers_survive_kills_and_a_database_restart(tmp_path):
    from aiosmtpd.controller import Controller

    started = time.monotonic()
    instance = tmp_path / "instance"
    (instance / "uploads").mkdir(parents=True)  # shared by both "hosts" (evidence storage is local today)
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: list[Process] = []
    cluster = Cluster().start()
    mailbox, smtp_port = Mailbox(MAIL_DELAY), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    monitor = None
    try:
        with Hooks(HOOK_DELAY) as hooks:
            url = cluster.create_database("casedesk")
            monitor = sa.create_engine(url, pool_pre_ping=True)
            web_ports = [free_port(), free_port()]
            bases = [f"http://127.0.0.1:{p}" for p in web_ports]
            env = lambda name: _env(url, instance, smtp_port, bases[0], name)  # noqa: E731

            # The release step: migrations before any process starts, never at start.
            migrate = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                                     env=env("migrate"), capture_output=True, text=True, timeout=300)
            assert migrate.returncode == 0, migrate.stderr[-3000:]
            seeded = _seed(url, instance / "uploads", smtp_port, hooks.port)
            seeded_at = time.monotonic()

            gunicorn = str(Path(sys.executable).with_name("gunicorn"))
            webs = [_start(f"web-{n}", [gunicorn, "-w", "1", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5",
                                        "--no-control-socket", "wsgi:app"], env(f"web-{n}"), logs)
                    for n, port in enumerate(web_ports)]
            processes += webs
            for base, web in zip(bases, webs, strict=True):
                _wait_ready(base, web)
            schedulers = [_start(f"scheduler-{n}", [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler",
                                                    "run"], env(f"scheduler-{n}"), logs) for n in range(2)]
            processes += schedulers
            for scheduler in schedulers:  # both running their jobs, so that killing one kills a worker
                _wait_logged(scheduler, "scheduler started")

            t0 = time.monotonic()
            tally = Tally()
            balancer = Balancer(list(zip(bases, webs, strict=True)), tally, t0)
            stop = threading.Event()
            visitors = [threading.Thread(target=_visitor, args=(balancer, seeded.accounts[n], seeded.query_codes, stop),
                                         daemon=True) for n in range(LOAD_THREADS)]
            for visitor in visitors:
                visitor.start()

            time.sleep(KILL_AT)
            # The scheduler to kill: the one in the middle of a dispatch if any, else of any job.
            holders = _running_jobs(monitor, schedulers)
            busy = holders.get("dispatch") or next(iter(holders.values()), "scheduler-0")
            victim = next((s for s in schedulers if s.name == busy), schedulers[0])
            outstanding_at_kill = _outstanding(monitor)
            _kill(webs[0])
            _kill(victim)
            in_flight = _claimed(monitor)
            killed = {"web": webs[0].name, "scheduler": victim.name,
                      "its_jobs_running": sorted(job for job, name in holders.items() if name == victim.name),
                      "notices_owed_at_kill": outstanding_at_kill}

            time.sleep(max(0.0, RESTART_AT - (time.monotonic() - t0)))
            monitor.dispose()
            restart_seconds = cluster.restart("fast")

            time.sleep(max(0.0, LOAD_SECONDS - (time.monotonic() - t0)))
            stop.set()
            for visitor in visitors:
                visitor.join(TIMEOUT + 10)
            load_seconds = time.monotonic() - t0

            # The surviving scheduler finishes the work: until the outbox is empty, or the time is up.
            deadline = time.monotonic() + DRAIN_SECONDS
            while time.monotonic() < deadline and _outstanding(monitor):
                time.sleep(1)
            drained_after = time.monotonic() - t0
            survivors_alive = {p.name: p.popen.poll() is None for p in processes if p.killed_at is None}
            for process in processes:
                _stop(process)

            numbers, problems = _check(monitor, seeded, hooks, mailbox, tally, in_flight)
    finally:
        for process in processes:
            if process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait(10)
        controller.stop()
        if monitor is not None:
            monitor.dispose()
        cluster.remove()

    web_logs = "\n".join(p.log.read_text() for p in processes if p.name.startswith("web-"))
    scheduler_logs = "\n".join(p.log.read_text() for p in processes if p.name.startswith("scheduler-"))
    # Flask's line before a view's traceback; gunicorn's when the error page itself failed.
    tracebacks = web_logs.count("Exception on ") + web_logs.count("Error handling request")
    if tracebacks or "Internal Server Error" in web_logs:
        problems.append(f"{tracebacks} tracebacks in the web processes' logs, e.g. "
                        f"{_first_error(web_logs)}")
    if not all(survivors_alive.values()):
        problems.append(f"a process that was not killed died: {survivors_alive}")
    numbers.update(killed=killed, db_restart_seconds=round(restart_seconds, 2), load_seconds=round(load_seconds, 1),
                   outbox_empty_after=round(drained_after, 1), seed_seconds=round(seeded_at - started, 1),
                   total_seconds=round(time.monotonic() - started, 1),
                   scheduler_job_failures=scheduler_logs.count("failed"),
                   web_tracebacks=tracebacks)
    summary = json.dumps(numbers, ensure_ascii=False, indent=1, default=str)
    (tmp_path / "numbers.json").write_text(summary)
    print(summary)
    assert not problems, "\n".join(problems) + "\n" + summary


def _first_error(log: str) -> str:
    at = log.find("Traceback (most recent call last)")
    if at < 0:
        return ""
    lines = log[at:].splitlines()
    tail = next((line for line in lines[1:] if line and not line.startswith(" ")), "")
    return tail[:300]
