"""Benchmark: the officer queue on a million cases, keyset pages against OFFSET and bare SQL,
and the whole page over HTTP.

    .venv/bin/python benchmarks/queues.py [--cases 1000000] [--open 0.3] [--seconds 10] [--rounds 3]

Loads N cases into a throw-away PostgreSQL database with COPY (a share of them open, with
deadlines, 5 % of those past them; the rest closed), rebuilds the queue counts
(``recount_queues``, as after any bulk load), then times, in one run, reading a page of 50 at
the start and at the middle of the open queue:

* floor: the bare keyset SQL on the (due_at, id) index, ids only;
* product: ``list_queue`` (one SELECT of the page's columns, as the page runs it);
* naive: an ORM query of whole cases, paged with OFFSET;

and the counts beside the list: the kept counts (``open_queue_counts``) and the overdue ones
(the partial index of open deadlines) against the former ``GROUP BY`` over every open case.

Then over HTTP (``--seconds`` per run, ``--rounds`` rounds interleaved): ``GET /desk/queues``
signed in as an officer, on gunicorn with 2 sync workers, driven by wrk with 1 and with 16
connections, against the floor: a minimal Flask app on the same gunicorn serving the bare
keyset SQL page (``floor_app.py``).

Writes benchmarks/results/queue.json and queue_http.json. Needs PostgreSQL on 127.0.0.1:5432
(trust auth) and wrk.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import SERVER, bench_app, copy_lines, fresh_database  # noqa: E402
from httpload import page_status, serve, server_env, sign_in, wrk  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime.now(UTC)
PASSWORD = "bench-password-1"



def _case_lines(n: int, n_open: int):
    """The seed's cases: the last ``n_open`` open, their deadlines from a day ago to 19 days ahead
    (5 % of them overdue); the others closed three days after submission."""
    for i in range(n):
        submitted = START + timedelta(minutes=i)
        if i % n == 0 or i < n - n_open:
            state, due, closed = "closed", "\\N", submitted + timedelta(days=3)
        else:
            ahead = timedelta(minutes=(i * 7919) % 28800 - 1440)
            state, due, closed = "submitted", NOW + ahead, "\\N"
        yield (f"TS-{2026 + i // 900000}-{i % 900000 + 1:06d}\tcomplaint\t{state}\t{1 + i % 1000}\t1\t"
               f"{2 if i % 4 == 0 else chr(92) + 'N'}\t1\t1\tt\ts\t{due}\t1\t{submitted}\t{submitted}\t{closed}\n")


def prepare(url: str, n: int, open_share: float) -> dict:
    app = fresh_database(url)
    with app.app_context():
        from app.extensions import db

        with db.engine.begin() as c:
            c.exec_driver_sql("INSERT INTO department (id, code, name, is_active, created_at) VALUES (1, 'D1', 'D', true, now())")
            c.exec_driver_sql("INSERT INTO subject (id, kind, identifier, name, created_at) "
                              "SELECT g, 'legal', lpad(g::text, 18, '0'), 'S' || g, now() FROM generate_series(1, 1000) g")
            from app.services.accounts.signin import hash_password

            c.exec_driver_sql("INSERT INTO user_account (id, username, display_name, password_hash, role, subject_id, "
                              "is_active, created_at) VALUES (1, 'a', 'a', 'x', 'applicant', 1, true, now()), "
                              "(2, 'o', 'o', %s, 'officer', NULL, true, now())", (hash_password(PASSWORD),))
        t0 = time.perf_counter()
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cols = ("number, kind, state, subject_id, applicant_id, assignee_id, department_id, policy_version, "
                    "title, statement, due_at, version, submitted_at, updated_at, closed_at")
            copy_lines(cursor, '"case"', cols, _case_lines(n, int(n * open_share)))
            raw.commit()
        finally:
            raw.close()
        load = time.perf_counter() - t0
        from app.services.cases import recount_queues

        recount_queues()  # COPY went around the ORM: the counts are rebuilt, as after any bulk load
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql('VACUUM ANALYZE "case"')
            open_cases = c.exec_driver_sql("SELECT count(*) FROM \"case\" WHERE state <> 'closed'").scalar()
            overdue = c.exec_driver_sql("SELECT count(*) FROM \"case\" WHERE closed_at IS NULL AND due_at < now()").scalar()
        db.engine.dispose()
    return {"cases": n, "open": open_cases, "overdue": overdue, "load_seconds": round(load, 2)}


def _best(fn, repeat=7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(url: str, open_cases: int) -> dict:
    import sqlalchemy as sa
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Case, User
    from app.services.cases.queues import QueueCursor, QueueFilter, list_queue, open_filter

    app = bench_app(url)
    figures = {}
    with app.app_context():
        officer = db.session.get(User, 2)
        depth = open_cases // 2
        middle = db.session.execute(
            select(Case.due_at, Case.id).where(Case.due_at.is_not(None)).order_by(Case.due_at, Case.id).offset(depth).limit(1)
        ).one()
        cursor = QueueCursor(False, middle.due_at, middle.id)
        floor_sql = sa.text(
            'SELECT id FROM "case" WHERE due_at IS NOT NULL AND (due_at, id) > (:d, :i) ORDER BY due_at, id LIMIT 51'
        )
        naive = (select(Case).where(open_filter()).order_by(Case.due_at.is_(None), Case.due_at, Case.id))

        def floor(at):
            return lambda: db.session.execute(floor_sql, {"d": at[0], "i": at[1]}).all()

        def product(after):
            def run():
                rows, _ = list_queue(officer, QueueFilter(), after)
                db.session.expunge_all()
                return rows
            return run

        def offset(skip):
            def run():
                rows = db.session.scalars(naive.offset(skip).limit(50)).all()
                db.session.expunge_all()
                return rows
            return run

        first = db.session.execute(select(Case.due_at, Case.id).where(Case.due_at.is_not(None))
                                   .order_by(Case.due_at, Case.id).limit(1)).one()
        for where, at, after, skip in (("first page", (first.due_at, first.id - 1), None, 0),
                                       ("middle page", (middle.due_at, middle.id), cursor, depth)):
            figures[where] = {
                "floor_ms": round(_best(floor(at)) * 1000, 2),
                "keyset_ms": round(_best(product(after)) * 1000, 2),
                "offset_ms": round(_best(offset(skip), repeat=3) * 1000, 2),
            }
        from app import clock
        from app.services.cases import count_open_cases, open_queue_counts

        def former_counts():  # what the page ran before: a GROUP BY over every open case
            return db.session.execute(select(Case.kind, Case.state, func.count()).where(open_filter())
                                      .group_by(Case.kind, Case.state)).all()

        figures["counts"] = {
            "former_group_by_ms": round(_best(former_counts) * 1000, 2),
            "kept_counts_ms": round(_best(lambda: open_queue_counts(officer.id)) * 1000, 2),
            "overdue_counts_ms": round(_best(lambda: count_open_cases(clock.now())) * 1000, 2),
        }
        assert {k: v["open"] for k, v in open_queue_counts().items()} == {tuple(r[:2]): r[2] for r in former_counts()}
        db.engine.dispose()
    return figures


def measure_http(url: str, seconds: int, rounds: int) -> dict:
    env = server_env(url.replace("postgresql+psycopg://", "postgresql://", 1))
    runs: dict[str, list[dict]] = {f"{what}_{c}c": [] for what in ("product", "floor") for c in (1, 16)}
    for round_no in range(rounds):
        with serve("wsgi:app", 2, env) as base:
            cookie = sign_in(base, "o", PASSWORD)
            page_status(base, "/desk/queues", cookie, "/desk/queues/bulk")  # the page itself, not a redirect
            lua = f'wrk.headers["Cookie"] = "{cookie}"'
            wrk(f"{base}/desk/queues", 2, 2, lua)  # warm-up: every worker has compiled its templates
            for connections in (1, 16):
                runs[f"product_{connections}c"].append(wrk(f"{base}/desk/queues", connections, seconds, lua))
        with serve("floor_app:create()", 2, env) as base:
            wrk(f"{base}/floor/queue", 2, 2)
            for connections in (1, 16):
                runs[f"floor_{connections}c"].append(wrk(f"{base}/floor/queue", connections, seconds))
        print(f"round {round_no + 1}: " + ", ".join(f"{k} {v[-1]['per_second']}/s p95 {v[-1]['p95_ms']} ms"
                                                  for k, v in runs.items()), flush=True)
    summary = {name: {"per_second_median": statistics.median(r["per_second"] for r in rows),
                      "p50_ms_median": statistics.median(r["p50_ms"] for r in rows),
                      "p95_ms_median": statistics.median(r["p95_ms"] for r in rows),
                      "p99_ms_median": statistics.median(r["p99_ms"] for r in rows),
                      "errors_total": sum(r["errors"] for r in rows)} for name, rows in runs.items()}
    return {"workers": 2, "seconds_per_run": seconds, "rounds": rounds, "summary": summary,
            "floor_to_product_16c": round(summary["floor_16c"]["per_second_median"]
                                          / summary["product_16c"]["per_second_median"], 2),
            "product_to_floor_p95_1c": round(summary["product_1c"]["p95_ms_median"]
                                             / summary["floor_1c"]["p95_ms_median"], 2),
            "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open", type=float, default=0.3)
    parser.add_argument("--database", default="casedesk_bench_queue")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    url = f"{SERVER}/{args.database}"
    print(f"loading {args.cases:,} cases ({args.open:.0%} open) with COPY ...", flush=True)
    data = prepare(url, args.cases, args.open)
    figures = measure(url, data["open"])
    result = {
        "benchmark": "queue",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        **data,
        "page_size": 50,
        "pages": figures,
        "middle_keyset_to_floor": round(figures["middle page"]["keyset_ms"] / figures["middle page"]["floor_ms"], 1),
        "middle_offset_to_keyset": round(figures["middle page"]["offset_ms"] / figures["middle page"]["keyset_ms"], 1),
    }
    (ROOT / "benchmarks" / "results" / "queue.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not args.no_http:
        http = {"benchmark": "queue_http", "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": result["machine"], **data, **measure_http(url, args.seconds, args.rounds)}
        (ROOT / "benchmarks" / "results" / "queue_http.json").write_text(json.dumps(http, indent=2) + "\n")
        print(json.dumps({k: v for k, v in http.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
