"""Benchmark: the CSV import against the COPY floor and the old way (executemany inserts).

    .venv/bin/python benchmarks/imports.py [--rows 100000] [--subjects 5000] [--rounds 3]

Writes one CSV file of N rows (N / subjects rows per subject, like the slow import test), then
times, interleaved round after round on a throw-away PostgreSQL database emptied between runs:

* floor: bare ``COPY`` of the same subjects, records and events, the rows made beforehand (the
  dates computed, the ids given): the database's own cost of storing them;
* import: ``import_records`` as the department's upload page runs it: both passes over the file
  (every row checked, then inserted), one transaction;
* old: the same import with the insert the product had before (SQLAlchemy ``executemany`` of the
  subjects, records and events per chunk of 1,000), kept here for comparison.

The load average is recorded before each timed run. Writes benchmarks/results/imports.json.
Needs PostgreSQL on 127.0.0.1:5432 (trust auth).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import SERVER, fresh_database, server_version  # noqa: E402

NOW = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
HEADER = ["identifier", "subject_name", "category", "severity", "decision_number", "decision_date", "facts",
          "sanction", "sanction_kinds", "sector"]


def write_csv(path: Path, rows: int, subjects: int) -> None:
    from app.identifiers import complete_uscc

    codes = [complete_uscc(f"913101{n:011d}") for n in range(1, subjects + 1)]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow([codes[n % subjects], f"导入公司{n % subjects}", "行政处罚信息", "一般",
                             f"沪导罚〔2026〕{n}号", f"2026-{1 + n % 6:02d}-{1 + n % 28:02d}",
                             f"违法事实 {n}", "罚款", "fine", ""])


KEPT = ("policy", "calendar_override")  # what TRUNCATE ... CASCADE reaches that the import needs


def _keep(db) -> None:
    for table in KEPT:
        db.session.execute(db.text(f"CREATE TABLE bench_{table} AS SELECT * FROM {table}"))
    db.session.commit()


def _empty(db) -> None:
    db.session.execute(db.text(
        "TRUNCATE subject_name_mismatch, record_event, credit_record, subject RESTART IDENTITY CASCADE"))
    for table in KEPT:
        db.session.execute(db.text(f"INSERT INTO {table} SELECT * FROM bench_{table}"))
    db.session.commit()


# -- the old way, as the product had it before COPY (issue 16, item 3) ----------------------------

def old_insert(rows, department, policy, subjects, now, actor_id) -> int:
    """The previous ``imports._insert``: executemany per chunk (names noted as the product does)."""
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import CreditRecord, RecordEvent, Subject
    from app.services.calendar import get_working_calendar
    from app.services.records import imports

    wanted = {r["identifier"].value for r in rows} - subjects.keys()
    known = {}
    if wanted:
        known = {i: (id_, name, source) for i, id_, name, source in db.session.execute(
            select(Subject.identifier, Subject.id, Subject.name, Subject.name_source)
            .where(Subject.identifier.in_(wanted)))}
        subjects.update({i: v[0] for i, v in known.items()})
        created = {}
        for r in rows:
            ident = r["identifier"]
            if ident.value not in subjects and ident.value not in created:
                created[ident.value] = {"kind": ident.kind, "identifier": ident.value, "name": r["subject_name"],
                                        "birth_date": ident.birth_date, "created_at": now}
        if created:
            db.session.execute(insert(Subject), list(created.values()))
            subjects.update(db.session.execute(
                select(Subject.identifier, Subject.id).where(Subject.identifier.in_(list(created)))).all())
    calendar = get_working_calendar()
    records = [{"subject_id": subjects[r["identifier"].value], **imports.record_values(r, department, policy, now,
                                                                                          calendar)} for r in rows]
    ids = db.session.execute(
        insert(CreditRecord).returning(CreditRecord.id, sort_by_parameter_order=True), records).scalars().all()
    imports._note_names(rows, ids, known, department)
    db.session.execute(insert(RecordEvent), [
        {"record_id": i, "seq": 1, "at": now, "actor_id": actor_id, "trigger": "publish", "from_state": None,
         "to_state": "published", "reason": "import", "data": None} for i in ids])
    return len(ids)


def run_import(app, db, path: Path, old: bool) -> tuple[float, int]:
    from app import clock
    from app.models import Department
    from app.services.records import imports

    with app.app_context(), clock.frozen_clock(NOW):
        department = db.session.get(Department, 1)
        saved = imports.insert_chunk
        if old:
            imports.insert_chunk = old_insert
        try:
            t0 = time.perf_counter()
            report = imports.import_records(path, department)
            seconds = time.perf_counter() - t0
        finally:
            imports.insert_chunk = saved
        assert report.ok, report.errors[:5]
        return seconds, report.imported


def floor_buffers(app, db, path: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The rows the import stores, made beforehand: subjects, records and events with their ids."""
    from app import clock
    from app.models import Department
    from app.services.calendar import get_working_calendar
    from app.services.policy import get_policy_in_force
    from app.services.records import imports

    with app.app_context(), clock.frozen_clock(NOW):
        department = db.session.get(Department, 1)
        policy, calendar = get_policy_in_force(), get_working_calendar()
        subjects: dict[str, int] = {}
        subject_rows, record_rows, event_rows = [], [], []
        for _n, row in imports._rows(path):
            clean, errors = imports.check_row(row, set(), lambda number: False, clock.today())
            assert not errors, errors
            ident = clean["identifier"]
            if ident.value not in subjects:
                subjects[ident.value] = len(subjects) + 1
                subject_rows.append((subjects[ident.value], ident.kind, ident.value, clean["subject_name"],
                                     "department", ident.birth_date, NOW))
            values = imports.record_values(clean, department, policy, NOW, calendar)
            record_id = len(record_rows) + 1
            record_rows.append((record_id, subjects[ident.value], *(values[c] for c in imports.RECORD_COLUMNS)))
            event_rows.append((record_id, 1, NOW, None, "publish", None, "published", "import"))
        return subject_rows, record_rows, event_rows


def run_floor(app, db, buffers) -> float:
    from psycopg.types.json import Jsonb

    from app.services.records import imports

    subject_rows, record_rows, event_rows = buffers
    json_at = [i for i, c in enumerate(imports.RECORD_COLUMNS) if c == "sanction_kinds"][0] + 2
    with app.app_context():
        connection = db.session.connection()
        cursor = connection.connection.driver_connection.cursor()
        t0 = time.perf_counter()
        with cursor.copy("COPY subject (id, kind, identifier, name, name_source, birth_date, created_at) FROM STDIN") \
                as copy:
            for row in subject_rows:
                copy.write_row(row)
        with cursor.copy(f"COPY credit_record (id, subject_id, {', '.join(imports.RECORD_COLUMNS)}) FROM STDIN") \
                as copy:
            for row in record_rows:
                copy.write_row((*row[:json_at], Jsonb(row[json_at]), *row[json_at + 1:]))
        with cursor.copy("COPY record_event (record_id, seq, at, actor_id, trigger, from_state, to_state, reason) "
                         "FROM STDIN") as copy:
            for row in event_rows:
                copy.write_row(row)
        db.session.commit()
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-old", action="store_true", help="skip the old way (the slowest)")
    parser.add_argument("--database", default="casedesk_bench_imports")
    args = parser.parse_args()

    url = f"{SERVER}/{args.database}"
    app = fresh_database(url)
    from app.extensions import db

    with app.app_context():
        db.session.execute(db.text(
            "INSERT INTO department (id, code, name, is_active, created_at) VALUES (1, 'D1', 'Department 1', true, now())"))
        db.session.commit()
        _keep(db)
    path = Path("/tmp/casedesk-bench") / f"import-{args.rows}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, args.rows, args.subjects)
    buffers = floor_buffers(app, db, path)

    times: dict[str, list[float]] = {"floor": [], "import": [], "old": []}
    loads: list[float] = []
    for round_ in range(args.rounds):
        for name in ("floor", "import", "old"):
            if name == "old" and args.no_old:
                continue
            with app.app_context():
                _empty(db)
            loads.append(os.getloadavg()[0])
            if name == "floor":
                seconds = run_floor(app, db, buffers)
            else:
                seconds, imported = run_import(app, db, path, old=name == "old")
                assert imported == args.rows
            times[name].append(seconds)
            print(f"round {round_ + 1} {name}: {seconds:.2f} s (load {loads[-1]:.2f})", flush=True)

    best = {name: min(values) for name, values in times.items() if values}
    result = {
        "benchmark": "imports",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgresql": server_version(url)},
        "rows": args.rows, "subjects": args.subjects, "rounds": args.rounds,
        "load_average_1min": {"min": min(loads), "max": max(loads), "median": statistics.median(loads)},
        **{name: {"best_seconds": round(best[name], 2), "all_seconds": [round(s, 2) for s in times[name]],
                  "rows_per_second": round(args.rows / best[name])} for name in best},
        "import_to_floor": round(best["import"] / best["floor"], 2),
        **({"old_to_import": round(best["old"] / best["import"], 1)} if "old" in best else {}),
        "floor_writes": "COPY of the subjects, records and events (rows made beforehand)",
        "import_writes": "both passes over the file: check every row, then subjects, records, events by COPY",
    }
    out = ROOT / "benchmarks" / "results" / "imports.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))




if __name__ == "__main__":
    main()
