"""Benchmark: the expiry sweep against the floor (one bare UPDATE) and the naive way (an ORM loop).

    .venv/bin/python benchmarks/expiry.py [--rows 1000000] [--due 0.2] [--sample 20000]

Loads N records into a throw-away PostgreSQL database with COPY (a fifth of them due), then
times, in one run and each in a fresh process (so peak memory is the phase's own):

* floor: one ``UPDATE credit_record SET state = 'retired' ... WHERE publicity_end < today``
  over the same rows, rolled back: no events, no notices; no implementation can beat it;
* naive: the per-row ORM way (load, change, one event per record, one notice per record) on a
  sample of due rows, rolled back, scaled up to all due rows;
* sweep: ``retire_expired_records`` as the scheduler runs it, with its events and digests.

Writes benchmarks/results/expiry.json. Needs PostgreSQL on 127.0.0.1:5432 (trust auth).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import SERVER, bench_app, fresh_database  # noqa: E402

TODAY = date(2027, 12, 1)  # "now" of the sweep: records whose publicity ended before are due
NOW = datetime(2027, 12, 1, 3, 0, tzinfo=UTC)



def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(url: str, rows: int, due: float) -> dict:
    app = fresh_database(url)
    with app.app_context():
        from app.extensions import db

        engine = db.engine
        with engine.begin() as c:
            for i in range(1, 6):
                c.exec_driver_sql(
                    "INSERT INTO department (id, code, name, is_active, created_at) "
                    f"VALUES ({i}, 'D{i}', 'Department {i}', true, now())"
                )
            c.exec_driver_sql(
                "INSERT INTO subject (id, kind, identifier, name, created_at) "
                "SELECT g, 'legal', lpad(g::text, 18, '0'), 'Subject ' || g, now() FROM generate_series(1, 20000) g"
            )
        t0 = time.perf_counter()
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            columns = (
                "subject_id, department_id, category, severity, decision_number, decision_date, facts, sanction, "
                "sanction_kinds, is_public, publicity_start, shortest_publicity_end, publicity_end, policy_version, "
                "state, under_objection, published_at, version, created_at, updated_at"
            )
            n_due = int(rows * due)
            with cursor.copy(f"COPY credit_record ({columns}) FROM STDIN") as copy:
                buffer = io.StringIO()
                for i in range(rows):
                    # Due rows end before TODAY; the others end after it. General class: one year.
                    decided = TODAY - timedelta(days=366 + i % 300) if i < n_due else TODAY - timedelta(days=i % 300)
                    end = decided.replace(year=decided.year + 1) if not (decided.month == 2 and decided.day == 29) \
                        else date(decided.year + 1, 2, 28)
                    shortest = decided + timedelta(days=91)
                    buffer.write(
                        f"{1 + i % 20000}\t{1 + i % 5}\tadministrative_penalty\tgeneral\tP{i:08d}\t{decided}\t"
                        f"facts of case {i}\tfine\t[\"fine\"]\tt\t{decided}\t{shortest}\t{end}\t1\t"
                        f"published\tf\t{decided} 10:00:00+00\t1\t{decided} 10:00:00+00\t{decided} 10:00:00+00\n"
                    )
                    if i % 50000 == 49999:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
            raw.commit()
        finally:
            raw.close()
        load_seconds = time.perf_counter() - t0
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
            due_rows = c.exec_driver_sql(
                f"SELECT count(*) FROM credit_record WHERE state IN ('published','corrected') AND publicity_end < '{TODAY}'"
            ).scalar()
        engine.dispose()
    return {"rows": rows, "due": due_rows, "load_seconds": round(load_seconds, 2)}


def phase_floor(url: str) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        t0 = time.perf_counter()
        n = c.execute(
            sa.text(
                "UPDATE credit_record SET state = 'retired', retired_at = :now "
                "WHERE state IN ('published', 'corrected') AND publicity_end < :today"
            ),
            {"now": NOW, "today": TODAY},
        ).rowcount
        seconds = time.perf_counter() - t0
        c.rollback()
    engine.dispose()
    return {"rows": n, "seconds": seconds}


def phase_naive(url: str, sample: int) -> dict:
    """The obvious ORM code: each due record loaded, changed, its event and notice added."""
    from sqlalchemy import func, select

    from app import clock
    from app.extensions import db
    from app.models import CreditRecord, Notification, RecordEvent

    app = bench_app(url)
    with app.app_context(), clock.frozen_clock(NOW):
        t0 = time.perf_counter()
        records = db.session.scalars(
            select(CreditRecord)
            .where(CreditRecord.state.in_(("published", "corrected")), CreditRecord.publicity_end < TODAY)
            .limit(sample)
        ).all()
        for record in records:
            seq = (db.session.scalar(select(func.max(RecordEvent.seq)).where(RecordEvent.record_id == record.id)) or 0) + 1
            old = record.state
            record.state, record.retired_at, record.version = "retired", NOW, record.version + 1
            db.session.add(RecordEvent(record_id=record.id, seq=seq, at=NOW, trigger="expire",
                                       from_state=old, to_state="retired", reason="publicity period ended"))
            db.session.add(Notification(key=f"retired:{record.id}", channel="inbox", template="record_retired",
                                        payload={"record": record.decision_number},
                                        recipient_department_id=record.department_id, status="pending",
                                        attempts=0, next_attempt_at=NOW, created_at=NOW))
            db.session.flush()
        seconds = time.perf_counter() - t0
        db.session.rollback()
        db.engine.dispose()
    return {"rows": len(records), "seconds": seconds}


def phase_sweep(url: str) -> dict:
    from app import clock
    from app.extensions import db
    from app.services.records.expiry import retire_expired_records

    app = bench_app(url)
    with app.app_context(), clock.frozen_clock(NOW):
        t0 = time.perf_counter()
        result = retire_expired_records()
        seconds = time.perf_counter() - t0
        db.engine.dispose()
    return {"rows": result.retired, "seconds": seconds, "batches": result.batches}


def _in_child(phase: str, url: str, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--url", url, *extra],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _vacuum(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql("VACUUM ANALYZE credit_record")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--due", type=float, default=0.2)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--database", default="casedesk_bench")
    parser.add_argument("--phase", choices=["floor", "naive", "sweep"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process: one phase, its figures and its own peak memory
        figures = {"floor": lambda: phase_floor(args.url), "naive": lambda: phase_naive(args.url, args.sample),
                   "sweep": lambda: phase_sweep(args.url)}[args.phase]()
        figures["peak_mb"] = round(_peak_mb(), 1)
        print(json.dumps(figures))
        return

    url = f"{SERVER}/{args.database}"
    print(f"loading {args.rows:,} records ({args.due:.0%} due) with COPY ...", flush=True)
    data = prepare(url, args.rows, args.due)
    print(f"loaded in {data['load_seconds']} s; {data['due']:,} due", flush=True)

    naive = _in_child("naive", url, "--sample", str(args.sample))
    _vacuum(url)
    floor = _in_child("floor", url)
    _vacuum(url)
    sweep = _in_child("sweep", url)
    assert floor["rows"] == sweep["rows"] == data["due"], (floor, sweep, data)

    naive_scaled = naive["seconds"] * data["due"] / naive["rows"]
    result = {
        "benchmark": "expiry",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgresql": _server_version(url)},
        "rows": data["rows"],
        "due_rows": data["due"],
        "floor": {"seconds": round(floor["seconds"], 2), "rows_per_second": round(floor["rows"] / floor["seconds"])},
        "sweep": {"seconds": round(sweep["seconds"], 2), "rows_per_second": round(sweep["rows"] / sweep["seconds"]),
                  "batches": sweep["batches"], "peak_mb": sweep["peak_mb"]},
        "naive": {"sample_rows": naive["rows"], "sample_seconds": round(naive["seconds"], 2),
                  "scaled_seconds": round(naive_scaled, 1), "rows_per_second": round(naive["rows"] / naive["seconds"]),
                  "peak_mb": naive["peak_mb"]},
        "sweep_to_floor": round(sweep["seconds"] / floor["seconds"], 2),
        "naive_to_sweep": round(naive_scaled / sweep["seconds"], 1),
        "sweep_writes": "state change + one event per record + one digest per department per batch",
        "floor_writes": "state change only",
    }
    out = ROOT / "benchmarks" / "results" / "expiry.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _server_version(url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        version = c.exec_driver_sql("SHOW server_version").scalar()
    engine.dispose()
    return version


if __name__ == "__main__":
    main()
