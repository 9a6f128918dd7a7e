"""Benchmark: the policy recompute against the same-writes floor and the naive (old) per-row way.

    .venv/bin/python benchmarks/recompute.py [--rows 1000000] [--rounds 2] [--sample 5000]

Loads N records into a throw-away PostgreSQL database with COPY: the three classes, decision
days over the last 1,000 days in id order (older ones under the policy's legacy clause), four
sectors, three sets of sanction kinds; a tenth retired (not in publicity), a twentieth already
on the new version. Version 2 (general 6 months; serious 6 months / 2 years; legacy 2 years)
is in force. Then, interleaved round after round, each phase in a fresh process, the load
average recorded before each:

* floor: the same writes by hand-written SQL, the dates computed in SQL for this one policy
  (CASE and intervals), the same events with the same before/after data, in chunks of 50,000
  ids, each committed (as the product does); then undone (not timed);
* product: ``admin.recompute`` as ``flask policy recompute 2`` runs it (the scheduler runs the
  same ``run_recompute``): groups per chunk, one statement per chunk, committed per chunk with
  the run's progress; then undone for the next round (not timed);
* naive: the old per-row recompute (kept below: ORM load, ``compute_record_dates``,
  ``apply_record_trigger``: three statements per record) on a sample, rolled back, scaled up.

Checks that floor and product leave the same dates and events (a checksum), and writes
benchmarks/results/recompute.json. Needs PostgreSQL on 127.0.0.1:5432 (trust auth). Open cases
are not loaded: they are few beside the records, and their chunk is the same few statements.
"""
from __future__ import annotations

import argparse
import copy
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

TODAY = date(2027, 12, 1)
NOW = datetime(2027, 12, 1, 3, 0, tzinfo=UTC)
SEVERITIES = ("minor", "general", "serious")
SECTORS = ("", "fire", "food", "work_safety")
KINDS = ('["fine"]', "[]", '["listing"]')
CHUNK = 50_000


def _v2(body: dict) -> dict:
    body = copy.deepcopy(body)
    body["record_classes"]["general"]["publicity"] = "6m"
    body["record_classes"]["serious"].update(shortest_publicity="6m", publicity="2y")
    body["legacy"]["publicity"] = "2y"
    return body


def prepare(url: str, rows: int) -> dict:
    app = fresh_database(url)
    with app.app_context():
        from app.extensions import db
        from app.services.policy import compute_record_dates

        engine = db.engine
        with engine.begin() as c:
            v1 = c.exec_driver_sql("SELECT body FROM policy WHERE version = 1").scalar()
            c.exec_driver_sql("INSERT INTO department (id, code, name, is_active, created_at) "
                              "VALUES (1, 'D1', 'Department 1', true, now())")
            c.exec_driver_sql(
                "INSERT INTO subject (id, kind, identifier, name, created_at) "
                "SELECT g, 'legal', lpad(g::text, 18, '0'), 'Subject ' || g, now() FROM generate_series(1, 20000) g")
            c.exec_driver_sql("INSERT INTO policy (version, effective_from, body, note, created_at) "
                              "VALUES (2, %(d)s, %(b)s, 'bench', now())",
                              {"d": TODAY - timedelta(days=1), "b": json.dumps(_v2(v1))})
        bodies = {1: v1, 2: _v2(v1)}
        memo: dict[tuple, tuple] = {}
        t0 = time.perf_counter()
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            columns = ("subject_id, department_id, category, severity, decision_number, decision_date, sector, facts, "
                       "sanction, sanction_kinds, is_public, withheld_reason, publicity_start, shortest_publicity_end, "
                       "publicity_end, policy_version, state, retired_at, under_objection, published_at, version, "
                       "created_at, updated_at")

            def lines():
                for i in range(rows):
                    severity, sector = SEVERITIES[i % 3], SECTORS[(i // 3) % 4]
                    kinds = KINDS[(i // 12) % 3]
                    decided = TODAY - timedelta(days=1 + (rows - 1 - i) * 1000 // rows)  # in id order
                    version = 2 if i % 20 == 0 else 1
                    key = (version, severity, decided, sector, kinds)
                    if key not in memo:
                        d = compute_record_dates(bodies[version], severity, decided, sector=sector or None,
                                                 sanction_kinds=json.loads(kinds))
                        memo[key] = (d.shortest_publicity_end, d.publicity_end)
                    shortest, end = memo[key]
                    state = "retired" if i % 10 == 9 else "corrected" if i % 10 == 8 else "published"
                    public, withheld = ("f", "minor_offence") if severity == "minor" else ("t", "\\N")
                    retired = f"{NOW.isoformat()}" if state == "retired" else "\\N"
                    yield (
                        f"{1 + i % 20000}\t1\tadministrative_penalty\t{severity}\tP{i:08d}\t{decided}\t"
                        f"{sector or chr(92) + 'N'}\tfacts {i}\tsanction\t{kinds}\t{public}\t{withheld}\t{decided}\t"
                        f"{shortest}\t{end}\t{version}\t{state}\t{retired}\tf\t{decided} 10:00:00+00\t1\t"
                        f"{decided} 10:00:00+00\t{decided} 10:00:00+00\n")

            copy_lines(cursor, "credit_record", columns, lines())
            raw.commit()
        finally:
            raw.close()
        load_seconds = time.perf_counter() - t0
        with engine.begin() as c:  # what an undo puts back
            c.exec_driver_sql("CREATE TABLE bench_original AS SELECT id, publicity_end, shortest_publicity_end, "
                              "policy_version FROM credit_record")
            c.exec_driver_sql("ALTER TABLE bench_original ADD PRIMARY KEY (id)")
        _vacuum(url)
        with engine.connect() as c:
            pending = c.exec_driver_sql("SELECT count(*) FROM credit_record WHERE state IN ('published', 'corrected') "
                                        "AND policy_version <> 2").scalar()
            groups = c.exec_driver_sql(
                "SELECT count(*) FROM (SELECT DISTINCT severity, decision_date, sector, sanction_kinds::text "
                "FROM credit_record WHERE state IN ('published', 'corrected') AND policy_version <> 2) g").scalar()
        engine.dispose()
    return {"rows": rows, "pending": pending, "groups": groups, "load_seconds": round(load_seconds, 2)}


# The dates of version 2 in SQL (for this data: kinds are fine, none, or a listing).
_LEGACY = "r.decision_date < DATE '2026-04-01'"
_CLASS = "CASE WHEN CAST(r.sanction_kinds AS text) LIKE '%listing%' THEN 'serious' ELSE r.severity END"
_END = (f"CAST(r.decision_date + CASE WHEN {_LEGACY} THEN INTERVAL '2 years' ELSE CASE {_CLASS} "
        "WHEN 'serious' THEN INTERVAL '2 years' WHEN 'general' THEN INTERVAL '6 months' ELSE INTERVAL '3 months' END "
        "END AS date)")
_SHORTEST = (f"CAST(r.decision_date + CASE WHEN {_LEGACY} THEN CASE WHEN r.sector IN ('special_equipment', "
             "'work_safety', 'fire') THEN INTERVAL '1 year' ELSE INTERVAL '3 months' END ELSE CASE " + _CLASS +
             " WHEN 'serious' THEN INTERVAL '6 months' WHEN 'general' THEN INTERVAL '3 months' ELSE INTERVAL '0 days' "
             "END END AS date)")
FLOOR = f"""
WITH due AS (
    SELECT r.id, r.state, r.policy_version AS old_version, r.publicity_end AS old_end,
           r.shortest_publicity_end AS old_shortest, {_END} AS publicity_end, {_SHORTEST} AS shortest
    FROM credit_record r
    WHERE r.id > :after AND r.id <= :upto AND r.state IN ('published', 'corrected') AND r.policy_version <> 2
    FOR UPDATE OF r
),
moved AS (
    UPDATE credit_record AS r SET publicity_end = due.publicity_end, shortest_publicity_end = due.shortest,
        policy_version = 2, version = r.version + 1, updated_at = :now
    FROM due WHERE r.id = due.id AND r.id > :after AND r.id <= :upto RETURNING due.*
)
INSERT INTO record_event (record_id, seq, at, trigger, from_state, to_state, data)
SELECT moved.id, COALESCE((SELECT max(e.seq) FROM record_event e WHERE e.record_id = moved.id), 0) + 1,
       :now, 'recompute', moved.state, moved.state,
       json_build_object(
           'before', json_build_object('policy_version', moved.old_version,
                                       'publicity_end', to_char(moved.old_end, 'YYYY-MM-DD'),
                                       'shortest_publicity_end', to_char(moved.old_shortest, 'YYYY-MM-DD')),
           'after', json_build_object('policy_version', 2, 'publicity_end', to_char(moved.publicity_end, 'YYYY-MM-DD'),
                                      'shortest_publicity_end', to_char(moved.shortest, 'YYYY-MM-DD')))
FROM moved
"""
CHECKSUM = """
SELECT (SELECT sum(hashtext(id || ':' || publicity_end || ':' || shortest_publicity_end || ':' || policy_version
                            || ':' || version)) FROM credit_record),
       (SELECT count(*) FROM record_event WHERE trigger = 'recompute'),
       (SELECT sum(hashtext(record_id || ':' || seq || ':' || from_state || ':' || to_state || ':' || data::text))
        FROM record_event WHERE trigger = 'recompute')
"""


def phase_floor(url: str) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        last = c.exec_driver_sql("SELECT max(id) FROM credit_record").scalar()
        t0 = time.perf_counter()
        n, after = 0, 0
        while after < last:
            n += c.execute(sa.text(FLOOR), {"now": NOW, "after": after, "upto": after + CHUNK}).rowcount
            c.commit()  # per chunk, as the product does
            after += CHUNK
        seconds = time.perf_counter() - t0
        checksum = [str(x) for x in c.exec_driver_sql(CHECKSUM).one()]
    engine.dispose()
    return {"rows": n, "seconds": seconds, "checksum": checksum}


def phase_product(url: str) -> dict:
    import sqlalchemy as sa

    from app import clock
    from app.extensions import db
    from app.services.admin import recompute

    app = bench_app(url)
    with app.app_context(), clock.frozen_clock(NOW):
        statements = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
        t0 = time.perf_counter()
        result = recompute(None, 2)
        seconds = time.perf_counter() - t0
        checksum = [str(x) for x in db.session.execute(sa.text(CHECKSUM)).one()]
        db.session.rollback()
        db.engine.dispose()
    return {"rows": result.records, "moved": result.records_moved, "seconds": seconds, "statements": len(statements),
            "checksum": checksum}


def naive_recompute(policy, sample: int) -> int:
    """The recompute as it was before issue 16 (records part): per record, an ORM load, the dates,
    ``apply_record_trigger`` (a max(seq) query and the event), flushed per 500 (its batch)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import CreditRecord
    from app.services.policy import compute_record_dates
    from app.services.records.lifecycle import apply_record_trigger
    from workflows import IN_PUBLICITY, RecordTrigger

    done, last_id = 0, 0
    while done < sample:
        batch = list(db.session.scalars(
            select(CreditRecord).where(CreditRecord.state.in_(IN_PUBLICITY), CreditRecord.policy_version != policy.version,
                                       CreditRecord.id > last_id).order_by(CreditRecord.id).limit(500)))
        if not batch:
            break
        for record in batch:
            dates = compute_record_dates(policy.body, record.severity, record.decision_date, sector=record.sector,
                                         sanction_kinds=record.sanction_kinds or ())
            before = {"policy_version": record.policy_version, "publicity_end": record.publicity_end.isoformat(),
                      "shortest_publicity_end": record.shortest_publicity_end.isoformat()}
            record.publicity_end = dates.publicity_end
            record.shortest_publicity_end = dates.shortest_publicity_end
            record.policy_version = policy.version
            apply_record_trigger(record, RecordTrigger.RECOMPUTE, None, data={
                "before": before, "after": {"policy_version": policy.version,
                                            "publicity_end": dates.publicity_end.isoformat(),
                                            "shortest_publicity_end": dates.shortest_publicity_end.isoformat()}})
            done += 1
        last_id = batch[-1].id
        db.session.flush()  # the old code committed here; rolled back at the end instead
    return done


def phase_naive(url: str, sample: int) -> dict:
    from app import clock
    from app.extensions import db
    from app.services.policy import get_version

    app = bench_app(url)
    with app.app_context(), clock.frozen_clock(NOW):
        policy = get_version(2)
        t0 = time.perf_counter()
        n = naive_recompute(policy, sample)
        seconds = time.perf_counter() - t0
        db.session.rollback()
        db.engine.dispose()
    return {"rows": n, "seconds": seconds}


def undo_product(url: str) -> None:
    """Put the records back onto version 1 with their dates; no recompute event, run or audit row left."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("SET LOCAL session_replication_role = replica")  # past the append-only triggers
        c.exec_driver_sql("DELETE FROM record_event WHERE trigger = 'recompute'")
        c.exec_driver_sql("UPDATE credit_record r SET publicity_end = o.publicity_end, shortest_publicity_end = "
                          "o.shortest_publicity_end, policy_version = o.policy_version, version = 1 "
                          "FROM bench_original o WHERE o.id = r.id AND r.version <> 1")
        c.exec_driver_sql("DELETE FROM admin_audit")
        c.exec_driver_sql("DELETE FROM recompute_run")
    engine.dispose()
    _vacuum(url)


def _vacuum(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql("VACUUM ANALYZE credit_record")
        c.exec_driver_sql("VACUUM ANALYZE record_event")
    engine.dispose()






def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--database", default="casedesk_bench_recompute")
    parser.add_argument("--phase", choices=["floor", "product", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process: one phase, its figures and its own peak memory
        figures = {"floor": lambda: phase_floor(args.url), "product": lambda: phase_product(args.url),
                   "naive": lambda: phase_naive(args.url, args.sample)}[args.phase]()
        figures["peak_mb"] = round(peak_mb(), 1)
        print(json.dumps(figures, default=str))
        return

    url = f"{SERVER}/{args.database}"
    print(f"loading {args.rows:,} records with COPY ...", flush=True)
    data = prepare(url, args.rows)
    print(f"loaded in {data['load_seconds']} s; {data['pending']:,} to recompute in {data['groups']:,} groups", flush=True)

    loads: list[float] = []
    floors, products, naives = [], [], []
    for _round in range(args.rounds):  # interleaved: floor, product, naive, floor, product, naive ...
        floors.append(timed(__file__, "floor", loads, "floor", url))
        undo_product(url)
        products.append(timed(__file__, "product", loads, "product", url))
        assert floors[-1]["rows"] == products[-1]["rows"] == data["pending"], (floors[-1], products[-1], data)
        assert floors[-1]["checksum"] == products[-1]["checksum"], (floors[-1], products[-1])
        undo_product(url)
        naives.append(timed(__file__, "naive (sample)", loads, "naive", url, "--sample", str(args.sample)))

    floor, product = min(floors, key=lambda f: f["seconds"]), min(products, key=lambda f: f["seconds"])
    naive = min(naives, key=lambda f: f["seconds"] / f["rows"])
    naive_scaled = naive["seconds"] * data["pending"] / naive["rows"]
    result = {
        "benchmark": "recompute",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgresql": server_version(url)},
        "rows": data["rows"], "recomputed_rows": data["pending"], "groups": data["groups"], "rounds": args.rounds,
        "chunk_ids": CHUNK, "load_seconds": data["load_seconds"],
        "load_average_1min": {"min": min(loads), "max": max(loads), "all": [round(x, 2) for x in loads]},
        "floor": {"seconds": round(floor["seconds"], 2), "all_seconds": [round(f["seconds"], 2) for f in floors],
                  "rows_per_second": round(floor["rows"] / floor["seconds"])},
        "product": {"seconds": round(product["seconds"], 2), "all_seconds": [round(f["seconds"], 2) for f in products],
                    "rows_per_second": round(product["rows"] / product["seconds"]), "moved": product["moved"],
                    "statements": product["statements"], "peak_mb": max(f["peak_mb"] for f in products)},
        "naive": {"sample_rows": naive["rows"], "sample_seconds": round(naive["seconds"], 2),
                  "all_sample_seconds": [round(f["seconds"], 2) for f in naives],
                  "scaled_seconds": round(naive_scaled, 1), "rows_per_second": round(naive["rows"] / naive["seconds"]),
                  "peak_mb": naive["peak_mb"]},
        "product_to_floor": round(product["seconds"] / floor["seconds"], 2),
        "product_to_floor_each_round": [round(p["seconds"] / f["seconds"], 2) for f, p in zip(floors, products,
                                                                                              strict=True)],
        "naive_to_product": round(naive_scaled / product["seconds"], 1),
        "product_writes": "dates, version and one recompute event (before/after) per record; groups computed in "
                          "Python per chunk; chunks of 50,000 ids, each committed with the run's progress",
        "floor_writes": "the same dates, version and events, dates computed in SQL, chunks of 50,000 ids, "
                        "each committed",
    }
    out = ROOT / "benchmarks" / "results" / "recompute.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
