"""Benchmark: the SLA sweep against the one-statement floor, the per-row sweep it replaced, and
django-helpdesk's ``escalate_tickets`` on the same number of items.

    .venv/bin/python benchmarks/sla.py [--timers 20000] [--supervisors 3] [--rounds 2] [--peer-rounds 1]
                                       [--lapses 1000] [--no-peer]

Loads N complaints, each with its acceptance clock run out, and the active supervisors into a
throw-away PostgreSQL database with COPY, then, round after round (each phase in a fresh
process, the marks and notices reset before each), times:

* floor: one hand-written statement with the same writes (the timers marked, an escalation per
  timer and supervisor with the sweep's keys and payloads, ``ON CONFLICT DO NOTHING``), committed;
* sweep: ``sweep_sla()`` as the ``sla`` job runs it;
* naive: the per-row sweep it replaced (``benchmarks/sla_naive.py``);
* peer: django-helpdesk's ``escalate_tickets`` command on N open tickets past their escalation
  date, in its own virtual environment (``benchmarks/.peer/``, installed from PyPI by this
  script) on another throw-away database of the same server.

Then: ``fire_breach_triggers()`` on ``--lapses`` responded complaints whose reopen window ran
out (each closed through the workflow, its event and notices written), in batches of 200 a
transaction against batches of one (the way it was), interleaved on fresh copies.
The load average is recorded before each phase. Writes benchmarks/results/sla.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import SERVER, bench_app, copy_lines, fresh_database, in_child, peak_mb, server_version  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Beijing: working hours
DUE = datetime(2026, 11, 20, 15, 59, 59, 999999, tzinfo=UTC)  # end of Friday Nov 20, Beijing
PEER = ROOT / "benchmarks" / ".peer"

FLOOR = """
WITH marked AS (
    UPDATE timer SET breached_at = :now
    WHERE status = 'running' AND breached_at IS NULL AND due_at < :now
    RETURNING id, case_id, clock, due_at
)
INSERT INTO notification (key, channel, template, payload, status, attempts, next_attempt_at, created_at,
                          recipient_user_id)
SELECT 'breach:' || m.id || ':' || iso.due || ':' || s.id, 'inbox', 'sla_breached',
       json_build_object('case', c.number, 'clock', m.clock, 'due_at', iso.due), 'pending', 0, :now, :now, s.id
FROM marked m
JOIN "case" c ON c.id = m.case_id
CROSS JOIN LATERAL (SELECT to_char(m.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00' AS due) iso
CROSS JOIN (SELECT id FROM user_account WHERE role = 'supervisor' AND is_active) s
ON CONFLICT (key) DO NOTHING
"""




def _copy(raw, table: str, columns: str, lines) -> None:
    with raw.cursor() as cursor:
        copy_lines(cursor, table, columns, lines, chunk=20_000)


CASE_COLUMNS = "number, kind, state, subject_id, applicant_id, department_id, policy_version, title, statement, " \
               "due_at, version, submitted_at, updated_at, closed_at"
TIMER_COLUMNS = "case_id, clock, unit, length, policy_version, status, started_at, due_at"


def prepare(url: str, timers: int, supervisors: int) -> dict:
    app = fresh_database(url)
    with app.app_context():
        from app.extensions import db
        from app.models import Department, Subject, User

        department = Department(code="D1", name="Department 1")
        subject = Subject(kind="legal", identifier="913101000000000001", name="Subject 1")
        db.session.add_all([department, subject])
        db.session.flush()
        applicant = User(role="applicant", username="applicant", display_name="a", password_hash="x",
                         subject_id=subject.id)
        db.session.add(applicant)
        db.session.add_all(User(role="supervisor", username=f"supervisor{i}", display_name=f"s{i}", password_hash="x")
                           for i in range(supervisors))
        db.session.commit()
        ids = (subject.id, applicant.id, department.id)
        t0 = time.perf_counter()
        raw = db.engine.raw_connection()
        try:
            _copy(raw, '"case"', CASE_COLUMNS, (
                f"TS-2026-{i:07d}\tcomplaint\tsubmitted\t{ids[0]}\t{ids[1]}\t{ids[2]}\t1\tt\ts\t{DUE}\t1\t"
                f"2026-11-13 02:00:00+00\t2026-11-13 02:00:00+00\t\\N\n" for i in range(timers)
            ))
            _copy(raw, "timer", TIMER_COLUMNS, (
                f"{i + 1}\taccept\twd\t5\t1\trunning\t2026-11-13 02:00:00+00\t{DUE}\n" for i in range(timers)
            ))
            raw.commit()
        finally:
            raw.close()
        load_seconds = time.perf_counter() - t0
        db.engine.dispose()
    _vacuum(url)
    return {"timers": timers, "supervisors": supervisors, "load_seconds": round(load_seconds, 2)}


def add_lapses(url: str, n: int) -> None:
    """n responded complaints whose reopen window ran out (the reply clock stopped)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as c:
        first = c.exec_driver_sql('SELECT max(id) FROM "case"').scalar() + 1
        subject, applicant, department = c.exec_driver_sql(
            'SELECT subject_id, applicant_id, department_id FROM "case" LIMIT 1').one()
    raw = engine.raw_connection()
    try:
        _copy(raw, '"case"', CASE_COLUMNS, (
            f"TR-2026-{i:07d}\tcomplaint\tresponded\t{subject}\t{applicant}\t{department}\t1\tt\ts\t{DUE}\t1\t"
            f"2026-11-13 02:00:00+00\t2026-11-13 02:00:00+00\t2026-11-13 03:00:00+00\n" for i in range(n)
        ))
        _copy(raw, "timer", TIMER_COLUMNS, (
            f"{first + i}\treopen_window\tcd\t15\t1\trunning\t2026-11-13 02:00:00+00\t{DUE}\n" for i in range(n)
        ))
        raw.commit()
    finally:
        raw.close()
    engine.dispose()
    _vacuum(url)


def _reset(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("UPDATE timer SET breached_at = NULL, due_soon_at = NULL WHERE breached_at IS NOT NULL")
        c.exec_driver_sql("DELETE FROM notification")
    engine.dispose()
    _vacuum(url)


def _vacuum(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql("VACUUM ANALYZE timer")
        c.exec_driver_sql("VACUUM ANALYZE notification")
        c.exec_driver_sql('VACUUM ANALYZE "case"')
    engine.dispose()


def _counts(url: str) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        counts = {
            "marked": c.exec_driver_sql("SELECT count(*) FROM timer WHERE breached_at IS NOT NULL").scalar(),
            "notices": c.exec_driver_sql("SELECT count(*) FROM notification").scalar(),
            "keys": c.exec_driver_sql("SELECT md5(string_agg(key, ',' ORDER BY key)) FROM notification").scalar(),
        }
    engine.dispose()
    return counts


def phase_floor(url: str) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        t0 = time.perf_counter()
        n = c.execute(sa.text(FLOOR), {"now": NOW}).rowcount
        c.commit()
        seconds = time.perf_counter() - t0
    engine.dispose()
    return {"notices": n, "seconds": seconds}


def _in_app(url: str, run) -> dict:
    import sqlalchemy as sa

    from app import clock
    from app.extensions import db

    app = bench_app(url)
    with app.app_context(), clock.frozen_clock(NOW):
        db.session.execute(sa.text("SELECT 1"))  # connected before the clock starts, as in the floor
        db.session.commit()
        t0 = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - t0
        db.engine.dispose()
    return {"result": result, "seconds": seconds}


def phase_sweep(url: str) -> dict:
    from app.services.sla import sweep_sla

    out = _in_app(url, sweep_sla)
    return {"breached": out["result"].breached, "notices": out["result"].escalations, "seconds": out["seconds"]}


def phase_naive(url: str) -> dict:
    from benchmarks.sla_naive import naive_sweep

    out = _in_app(url, naive_sweep)
    return {"breached": out["result"].breached, "notices": out["result"].escalations, "seconds": out["seconds"]}


def phase_lapses(url: str) -> dict:
    from app.services.cases import fire_breach_triggers

    out = _in_app(url, fire_breach_triggers)
    return {"fired": out["result"], "seconds": out["seconds"]}


def phase_lapses_one_by_one(url: str) -> dict:
    """The way it was: a transaction per lapse (batches of one)."""
    from app.services.cases import fire_breach_triggers

    out = _in_app(url, lambda: fire_breach_triggers(batch_size=1))
    return {"fired": out["result"], "seconds": out["seconds"]}


def _in_child(phase: str, url: str) -> dict:
    figures = in_child(__file__, phase, url)
    figures["load_average"] = os.getloadavg()[0]
    return figures


# --- the peer: django-helpdesk in a virtual environment of its own -----------------------------

PEER_SETTINGS = """
SECRET_KEY = "benchmark"
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages", "django.contrib.sites",
                  "django.contrib.humanize", "rest_framework", "helpdesk"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages",
                                                 "django.template.context_processors.request"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": %(name)r, "USER": %(user)r,
                         "HOST": %(host)r, "PORT": %(port)r}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ROOT_URLCONF = "urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
HELPDESK_TEAMS_MODE_ENABLED = False
"""

# Run inside the peer's environment: load N tickets, reset them, or time the command in-process.
PEER_SCRIPT = '''
import json, sys, time
from datetime import timedelta
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from helpdesk.models import FollowUp, Queue, Ticket, TicketChange

action = sys.argv[1]
if action == "load":
    queue = Queue.objects.create(title="Objections", slug="objections", escalate_days=1)
    created = timezone.now() - timedelta(days=10)
    Ticket.objects.bulk_create(
        [Ticket(title=f"Ticket {i}", queue=queue, status=Ticket.OPEN_STATUS, priority=3, created=created,
                modified=created) for i in range(int(sys.argv[2]))], batch_size=5000)
    Ticket.objects.update(created=created)  # ``created`` is set on save: put it back in the past
elif action == "reset":
    TicketChange.objects.all().delete()
    FollowUp.objects.all().delete()
    Ticket.objects.update(priority=3, last_escalation=None)
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE helpdesk_ticket")
else:
    connection.ensure_connection()
    t0 = time.perf_counter()
    call_command("escalate_tickets")
    seconds = time.perf_counter() - t0
    print(json.dumps({"escalated": FollowUp.objects.count(), "seconds": seconds}))
'''


def _peer_env(database: str) -> dict:
    import sqlalchemy as sa

    server = sa.engine.make_url(f"{SERVER}/{database}")
    site = PEER / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "settings.py").write_text(PEER_SETTINGS % {"name": database, "user": server.username or "postgres",
                                                       "host": server.host or "127.0.0.1", "port": server.port or 5432})
    (site / "urls.py").write_text(
        "from django.urls import include, path\n\n"
        "urlpatterns = [path('helpdesk/', include('helpdesk.urls', namespace='helpdesk'))]\n"
    )
    (site / "peer.py").write_text(PEER_SCRIPT)
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": str(site)}


def peer_install() -> tuple[Path, str]:
    """A virtual environment with django-helpdesk (and Django) from PyPI; its version."""
    python = PEER / "venv" / "bin" / "python"
    PEER.mkdir(parents=True, exist_ok=True)
    (PEER / ".gitignore").write_text("*\n")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER / "venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "django-helpdesk", "psycopg[binary]"], check=True)
    version = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('django-helpdesk'),"
                              " m.version('django'))"], check=True, capture_output=True, text=True).stdout.split()
    return python, f"django-helpdesk {version[0]}, Django {version[1]}"


def peer_prepare(python: Path, database: str, tickets: int) -> dict:
    import sqlalchemy as sa

    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{database}"')
    admin.dispose()
    env = _peer_env(database)
    subprocess.run([str(python), "-m", "django", "migrate", "-v0"], check=True, env=env)
    t0 = time.perf_counter()
    subprocess.run([str(python), str(PEER / "site" / "peer.py"), "load", str(tickets)], check=True, env=env)
    return {"tickets": tickets, "load_seconds": round(time.perf_counter() - t0, 2)}


def peer_run(python: Path, database: str) -> dict:
    env = _peer_env(database)
    subprocess.run([str(python), str(PEER / "site" / "peer.py"), "reset"], check=True, env=env)
    load = os.getloadavg()[0]
    out = subprocess.run([str(python), str(PEER / "site" / "peer.py"), "run"], check=True, env=env,
                         capture_output=True, text=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["load_average"] = load
    return figures


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timers", type=int, default=20_000)
    parser.add_argument("--supervisors", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--peer-rounds", type=int, default=1, help="rounds that run the peer too (it is slow)")
    parser.add_argument("--lapses", type=int, default=1000)
    parser.add_argument("--database", default="casedesk_bench_sla")
    parser.add_argument("--no-peer", action="store_true", help="skip django-helpdesk")
    parser.add_argument("--lapses-only", action="store_true", help="only the automatic closes, into sla.json")
    parser.add_argument("--phase", choices=["floor", "sweep", "naive", "lapses", "lapses_one_by_one"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process: one phase, its figures and its own peak memory
        figures = {"floor": phase_floor, "sweep": phase_sweep, "naive": phase_naive, "lapses": phase_lapses,
                   "lapses_one_by_one": phase_lapses_one_by_one}[args.phase](args.url)
        figures["peak_mb"] = round(peak_mb(), 1)
        print(json.dumps(figures))
        return

    if args.lapses_only:
        run_lapses(args.database, args.lapses)
        return
    url = f"{SERVER}/{args.database}"
    peer_db = f"{args.database}_peer"
    print(f"loading {args.timers:,} breached timers and {args.supervisors} supervisors ...", flush=True)
    data = prepare(url, args.timers, args.supervisors)
    python, peer_version = (None, None) if args.no_peer else peer_install()
    if python:
        data["peer"] = peer_prepare(python, peer_db, args.timers)
    print(json.dumps(data), flush=True)

    runs: dict[str, list[dict]] = {"floor": [], "sweep": [], "naive": [], "peer": []}
    expected = None
    for round_ in range(args.rounds):
        order = ["floor", "sweep", "naive", "peer"]
        order = order[round_ % 4:] + order[:round_ % 4]  # each phase takes each place in turn
        for phase in order:
            if phase == "peer":
                if python and round_ < args.peer_rounds:
                    runs["peer"].append(peer_run(python, peer_db))
                    print("peer", runs["peer"][-1], flush=True)
                continue
            _reset(url)
            figures = _in_child(phase, url)
            written = _counts(url)
            expected = expected or written
            assert written == expected, (phase, written, expected)  # the same writes, key for key
            assert written["marked"] == args.timers and written["notices"] == args.timers * args.supervisors
            runs[phase].append(figures)
            print(phase, figures, flush=True)

    lapses = None

    def best(phase):
        return min(r["seconds"] for r in runs[phase]) if runs[phase] else None

    def ratios(slow, fast):
        """Per round, then the median: the two ran minutes apart at most, under the same load."""
        pairs = list(zip(runs[slow], runs[fast], strict=False))
        return round(statistics.median(a["seconds"] / b["seconds"] for a, b in pairs), 2) if pairs else None

    n = args.timers
    result = {
        "benchmark": "sla",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgresql": server_version(url)},
        "timers": n,
        "supervisors": args.supervisors,
        "notices": n * args.supervisors,
        "smtp": "off (inbox rows only, as in the issue's measurement)",
        "data": data,
        "runs": runs,
        "best_seconds": {p: (round(best(p), 3) if best(p) is not None else None) for p in runs},
        "items_per_second": {p: round(n / best(p)) for p in runs if best(p)},
        "sweep_to_floor": ratios("sweep", "floor"),
        "naive_to_sweep": ratios("naive", "sweep"),
        "peer_to_sweep": ratios("peer", "sweep"),
        "peer": peer_version,
        "peer_writes": "per ticket: the ticket saved (priority, last_escalation), a follow-up and a ticket change; "
                       "no e-mail (the tickets have no submitter, CC or owner)",
        "sweep_writes": "per timer: the breach mark and one escalation per active supervisor (key, payload, held "
                        "until working hours), with ON CONFLICT DO NOTHING and FOR UPDATE SKIP LOCKED",
        "floor_writes": "the same rows, one hand-written statement",
        "lapses": lapses and {**lapses, "cases_per_second": round(lapses["fired"] / lapses["seconds"])},
    }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("best_seconds", "sweep_to_floor", "naive_to_sweep", "peer_to_sweep")},
                     indent=2))
    if args.lapses:
        run_lapses(args.database, args.lapses)


OUT = ROOT / "benchmarks" / "results" / "sla.json"


def run_lapses(database: str, n: int, rounds: int = 2) -> None:
    """The automatic closes, on a database of their own, batched (the product) and a transaction
    per case (the way it was), interleaved on fresh copies; added to the results."""
    url = f"{SERVER}/{database}_lapses"
    runs: dict[str, list[dict]] = {"lapses": [], "lapses_one_by_one": []}
    for _ in range(rounds):
        for phase in runs:
            prepare(url, 1, 1)
            add_lapses(url, n)
            runs[phase].append(_in_child(phase, url))
            print(phase, runs[phase][-1], flush=True)
    best = {phase: min(figures, key=lambda f: f["seconds"]) for phase, figures in runs.items()}
    result = json.loads(OUT.read_text())
    result["lapses"] = {
        **best["lapses"], "cases_per_second": round(best["lapses"]["fired"] / best["lapses"]["seconds"]),
        "one_by_one": {**best["lapses_one_by_one"],
                       "cases_per_second": round(best["lapses_one_by_one"]["fired"]
                                                 / best["lapses_one_by_one"]["seconds"])},
        "rounds": runs,
        "writes": "per case, through the workflow, in batches of 200 cases a transaction (a savepoint each): the case "
                  "locked and changed, its event, its timers stopped, its queue counts, the applicant's notice"}
    OUT.write_text(json.dumps(result, indent=2) + "\n")




if __name__ == "__main__":
    main()
