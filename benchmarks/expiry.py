"""Benchmark: the expiry sweep against the same-writes floor, the naive way, and its own catch-up.

    .venv/bin/python benchmarks/expiry.py [--rows 1000000] [--due 0.2] [--rounds 2] [--sample 5000]

Loads N records of 8 departments into a throw-away PostgreSQL database with COPY (a fifth of them
due), then, interleaved round after round (the load average recorded before each timed phase),
each phase in a fresh process (so that peak memory is the phase's own):

* floor: the sweep's own statement (state, retirement time and run, version; one event per
  record) as bare SQL in batches of 10,000, each committed, no ORM, no notices, undone after:
  the database's cost of those writes (cheaper-looking forms are slower: see ``phase_floor``);
* sweep: ``retire_expired_records`` as the scheduler runs it (batches of 10,000), with its events,
  one digest per department for the run and the subjects' notices; then undone for the next round;
* naive: the per-row ORM way (load, change, one event per record, one notice per record) on a
  sample of due rows, rolled back, scaled up to all due rows (once);
* catch-up: the sweep with ``--now`` in batches of 1,000 (all batches share one instant) against
  the sweep in batches of 10,000; and the time of its first and last tenth of batches (linear:
  equal).

Writes benchmarks/results/expiry.json. Needs PostgreSQL on 127.0.0.1:5432 (trust auth).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import SERVER, bench_app, copy_lines, fresh_database, peak_mb, server_version, timed  # noqa: E402

TODAY = date(2027, 12, 1)  # "now" of the sweep: records whose publicity ended before are due
NOW = datetime(2027, 12, 1, 3, 0, tzinfo=UTC)
DEPARTMENTS = 8






def _record_lines(rows: int, n_due: int):
    """The seed's records: the first ``n_due`` end before TODAY, the others after it (general class: one year)."""
    for i in range(rows):
        decided = TODAY - timedelta(days=366 + i % 300) if i < n_due else TODAY - timedelta(days=i % 300)
        end = decided.replace(year=decided.year + 1) if not (decided.month == 2 and decided.day == 29) \
            else date(decided.year + 1, 2, 28)
        shortest = decided + timedelta(days=91)
        yield (f"{1 + i % 20000}\t{1 + i % DEPARTMENTS}\tadministrative_penalty\tgeneral\tP{i:08d}\t{decided}\t"
               f"facts of case {i}\tfine\t[\"fine\"]\tt\t{decided}\t{shortest}\t{end}\t1\t"
               f"published\tf\t{decided} 10:00:00+00\t1\t{decided} 10:00:00+00\t{decided} 10:00:00+00\n")


def prepare(url: str, rows: int, due: float) -> dict:
    app = fresh_database(url)
    with app.app_context():
        from app.extensions import db

        engine = db.engine
        with engine.begin() as c:
            for i in range(1, DEPARTMENTS + 1):
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
            copy_lines(cursor, "credit_record", columns, _record_lines(rows, int(rows * due)))
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
    """The sweep's own statement (the data-modifying CTE: state, retirement time and run, version,
    one event per record) as bare SQL in batches of 10,000, each committed; no ORM, no notices.
    Undone after (untimed).

    Cheaper-looking forms do the same writes slower here: one statement over all due rows takes
    13 s for 200,000 (a hash join over the whole table, JIT, a CTE spilled to disk), and without
    ``FOR UPDATE`` the planner joins each batch against a scan of the whole table."""
    import sqlalchemy as sa

    from app.services.records.expiry import _RETIRE_POSTGRES, RETIRE_REASON

    engine = sa.create_engine(url)
    with engine.connect() as c:
        run = c.execute(sa.text("INSERT INTO expiry_run (started_at) VALUES (:now) RETURNING id"), {"now": NOW}).scalar()
        c.commit()
        t0 = time.perf_counter()
        n = 0
        while True:
            done = len(c.execute(_RETIRE_POSTGRES, {"now": NOW, "today": TODAY, "run": run, "batch": 10_000,
                                                    "reason": RETIRE_REASON}).all())
            n += done
            c.commit()
            if done < 10_000:
                break
        seconds = time.perf_counter() - t0
    engine.dispose()
    return {"rows": n, "seconds": seconds}


def undo_sweep(url: str) -> None:
    """Put the due records back in publicity: no events, notices or runs of the sweep left (not timed)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("SET LOCAL session_replication_role = replica")  # past the append-only triggers
        c.exec_driver_sql("DELETE FROM record_event WHERE trigger = 'expire'")
        c.exec_driver_sql("UPDATE credit_record SET state = 'published', retired_at = NULL, retired_in_run = NULL, "
                          "version = 1 WHERE state = 'retired'")
        c.exec_driver_sql("DELETE FROM notification")
        c.exec_driver_sql("DELETE FROM expiry_run")
        c.exec_driver_sql("SELECT setval(pg_get_serial_sequence('record_event', 'id'), "
                          "(SELECT coalesce(max(id), 1) FROM record_event))")
    engine.dispose()
    _vacuum(url)


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


def phase_sweep(url: str, batch_size: int) -> dict:
    from app import clock
    from app.extensions import db
    from app.services.records.expiry import retire_expired_records

    app = bench_app(url)
    marks: list[float] = []
    with app.app_context(), clock.frozen_clock(NOW):  # as `sweep expire --now`: one instant for all batches
        t0 = time.perf_counter()
        result = retire_expired_records(batch_size=batch_size, after_batch=lambda n: marks.append(time.perf_counter()))
        seconds = time.perf_counter() - t0
        digests = db.session.execute(db.text(
            "SELECT count(*) FROM notification WHERE template = 'records_retired' AND channel = 'inbox'")).scalar()
        db.engine.dispose()
    batches = [b - a for a, b in zip([t0, *marks], marks, strict=False)]
    tenth = max(1, len(batches) // 10)
    return {"rows": result.retired, "seconds": seconds, "batches": result.batches, "digests": digests,
            "first_tenth_batch_seconds": sum(batches[:tenth]) / tenth,
            "last_tenth_batch_seconds": sum(batches[-tenth:]) / tenth}




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
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--catch-up-batch", type=int, default=1_000)
    parser.add_argument("--database", default="casedesk_bench")
    parser.add_argument("--phase", choices=["floor", "naive", "sweep"], help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=10_000, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process: one phase, its figures and its own peak memory
        figures = {"floor": lambda: phase_floor(args.url), "naive": lambda: phase_naive(args.url, args.sample),
                   "sweep": lambda: phase_sweep(args.url, args.batch_size)}[args.phase]()
        figures["peak_mb"] = round(peak_mb(), 1)
        print(json.dumps(figures))
        return

    url = f"{SERVER}/{args.database}"
    print(f"loading {args.rows:,} records ({args.due:.0%} due) with COPY ...", flush=True)
    data = prepare(url, args.rows, args.due)
    print(f"loaded in {data['load_seconds']} s; {data['due']:,} due", flush=True)

    loads: list[float] = []
    floors, sweeps = [], []
    for _round in range(args.rounds):  # interleaved: floor, sweep, floor, sweep ...
        floors.append(timed(__file__, "floor", loads, "floor", url))
        undo_sweep(url)
        sweeps.append(timed(__file__, "sweep", loads, "sweep", url))
        assert floors[-1]["rows"] == sweeps[-1]["rows"] == data["due"], (floors[-1], sweeps[-1], data)
        assert sweeps[-1]["digests"] == DEPARTMENTS, sweeps[-1]  # one per department for the run
        undo_sweep(url)
    naive = timed(__file__, "naive (sample)", loads, "naive", url, "--sample", str(args.sample))
    _vacuum(url)
    catch_up = timed(__file__, f"catch-up, batches of {args.catch_up_batch:,}", loads, "sweep", url,
                      "--batch-size", str(args.catch_up_batch))
    undo_sweep(url)

    floor, sweep = min(floors, key=lambda f: f["seconds"]), min(sweeps, key=lambda f: f["seconds"])
    naive_scaled = naive["seconds"] * data["due"] / naive["rows"]
    result = {
        "benchmark": "expiry",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgresql": server_version(url)},
        "rows": data["rows"], "due_rows": data["due"], "departments": DEPARTMENTS, "rounds": args.rounds,
        "load_average_1min": {"min": min(loads), "max": max(loads), "all": [round(x, 2) for x in loads]},
        "floor": {"seconds": round(floor["seconds"], 2), "all_seconds": [round(f["seconds"], 2) for f in floors],
                  "rows_per_second": round(floor["rows"] / floor["seconds"])},
        "sweep": {"seconds": round(sweep["seconds"], 2), "all_seconds": [round(f["seconds"], 2) for f in sweeps],
                  "rows_per_second": round(sweep["rows"] / sweep["seconds"]), "batches": sweep["batches"],
                  "digests": sweep["digests"], "peak_mb": max(f["peak_mb"] for f in sweeps)},
        "naive": {"sample_rows": naive["rows"], "sample_seconds": round(naive["seconds"], 2),
                  "scaled_seconds": round(naive_scaled, 1), "rows_per_second": round(naive["rows"] / naive["seconds"]),
                  "peak_mb": naive["peak_mb"]},
        "catch_up": {"batch_size": args.catch_up_batch, "batches": catch_up["batches"],
                     "seconds": round(catch_up["seconds"], 2),
                     "to_batches_of_10000": round(catch_up["seconds"] / sweep["seconds"], 2),
                     "first_tenth_batch_ms": round(catch_up["first_tenth_batch_seconds"] * 1000, 1),
                     "last_tenth_batch_ms": round(catch_up["last_tenth_batch_seconds"] * 1000, 1),
                     "digests": catch_up["digests"], "peak_mb": catch_up["peak_mb"]},
        "sweep_to_floor": round(sweep["seconds"] / floor["seconds"], 2),
        "naive_to_sweep": round(naive_scaled / sweep["seconds"], 1),
        "sweep_writes": "state, retirement time and run + one event per record (batches of 10,000); one digest "
                        "per department for the run; the subjects' notices",
        "floor_writes": "the sweep's statement (state, retirement, one event per record), bare SQL in batches of "
                        "10,000, committed; no notices",
    }
    out = ROOT / "benchmarks" / "results" / "expiry.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))




if __name__ == "__main__":
    main()
