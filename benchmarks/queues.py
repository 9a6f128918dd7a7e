"""Benchmark: the officer queue on a million cases, keyset pages against OFFSET and bare SQL.

    .venv/bin/python benchmarks/queues.py [--cases 1000000] [--open 0.3]

Loads N cases into a throw-away PostgreSQL database with COPY (a share of them open, with
deadlines; the rest closed), then times, in one run, reading a page of 50 at the start and at
the middle of the open queue:

* floor: the bare keyset SQL on the (due_at, id) index, ids only;
* product: ``list_queue`` (the ORM query with its joins, as the page runs it);
* naive: the same ORM query paged with OFFSET.

Writes benchmarks/results/queue.json. Needs PostgreSQL on 127.0.0.1:5432 (trust auth).
"""
from __future__ import annotations

import argparse
import io
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

from benchlib import SERVER, bench_app, fresh_database  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)



def prepare(url: str, n: int, open_share: float) -> dict:
    app = fresh_database(url)
    with app.app_context():
        from app.extensions import db

        with db.engine.begin() as c:
            c.exec_driver_sql("INSERT INTO department (id, code, name, is_active, created_at) VALUES (1, 'D1', 'D', true, now())")
            c.exec_driver_sql("INSERT INTO subject (id, kind, identifier, name, created_at) "
                              "SELECT g, 'legal', lpad(g::text, 18, '0'), 'S' || g, now() FROM generate_series(1, 1000) g")
            c.exec_driver_sql("INSERT INTO user_account (id, username, display_name, password_hash, role, subject_id, "
                              "is_active, created_at) VALUES (1, 'a', 'a', 'x', 'applicant', 1, true, now()), "
                              "(2, 'o', 'o', 'x', 'officer', NULL, true, now())")
        t0 = time.perf_counter()
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cols = ("number, kind, state, subject_id, applicant_id, assignee_id, department_id, policy_version, "
                    "title, statement, due_at, version, submitted_at, updated_at, closed_at")
            n_open = int(n * open_share)
            with cursor.copy(f'COPY "case" ({cols}) FROM STDIN') as copy:
                buffer = io.StringIO()
                for i in range(n):
                    submitted = START + timedelta(minutes=i)
                    if i % n == 0 or i < n - n_open:
                        state, due, closed = "closed", "\\N", submitted + timedelta(days=3)
                    else:
                        state, due, closed = "submitted", submitted + timedelta(days=7, minutes=(i * 7919) % 10000), "\\N"
                    buffer.write(
                        f"TS-{2026 + i // 900000}-{i % 900000 + 1:06d}\tcomplaint\t{state}\t{1 + i % 1000}\t1\t"
                        f"{2 if i % 4 == 0 else chr(92) + 'N'}\t1\t1\tt\ts\t{due}\t1\t{submitted}\t{submitted}\t{closed}\n"
                    )
                    if i % 50000 == 49999:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
            raw.commit()
        finally:
            raw.close()
        load = time.perf_counter() - t0
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql('VACUUM ANALYZE "case"')
            open_cases = c.exec_driver_sql("SELECT count(*) FROM \"case\" WHERE state <> 'closed'").scalar()
        db.engine.dispose()
    return {"cases": n, "open": open_cases, "load_seconds": round(load, 2)}


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
        db.session.scalar(select(func.count()).select_from(Case))
        db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open", type=float, default=0.3)
    parser.add_argument("--database", default="casedesk_bench_queue")
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


if __name__ == "__main__":
    main()
