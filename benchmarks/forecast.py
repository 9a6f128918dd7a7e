"""Forecast at a million records and 300,000 open cases (issue 18): the product against its floor
and against the naive way, in one run.

Loads, with COPY, into a throw-away PostgreSQL database (``casedesk_bench_forecast``):
- 1,000,000 records in publicity of 8 departments, their last days of publicity spread over
  three years from a month ago;
- 300,000 open objections, each with a running acceptance and overall clock (600,000 running
  clocks, their deadlines from five days ago to 150 days ahead), and 300,000 stopped clocks of
  the last 90 days (the steps' medians).

Then, each timed as the best of ``--rounds`` after a warm-up:
- **forecast**: ``forecast(90)``, as the page and ``flask forecast`` call it (the steps' medians,
  the two grouped statements, the days in Python);
- **floor**: the same two grouped statements as bare SQL (no medians, no Python after);
- **naive**: a loop over the days of the horizon, two counting queries per day.

Figures go to benchmarks/results/forecast.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.benchlib import SERVER, copy_lines, fresh_database, seed_directory, server_version  # noqa: E402

URL = f"{SERVER}/casedesk_bench_forecast"
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 12, 2)
DEPARTMENTS = 8


def prepare(records: int, cases: int) -> dict:
    app = fresh_database(URL)
    with app.app_context():
        from app.extensions import db

        engine = db.engine
        with engine.begin() as c:
            seed_directory(c, DEPARTMENTS)
        t0 = time.perf_counter()
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()

            def record_rows():
                for i in range(records):
                    end = TODAY - timedelta(days=30) + timedelta(days=i % 1095)
                    decided = end - timedelta(days=365)
                    yield (f"{1 + i % 20000}\t{1 + i % DEPARTMENTS}\tadministrative_penalty\tgeneral\tF{i:08d}\t"
                           f"{decided}\tfacts\tfine\t[\"fine\"]\tt\t{decided}\t{decided + timedelta(days=91)}\t{end}\t1\t"
                           f"published\tf\t{decided} 10:00:00+00\t1\t{decided} 10:00:00+00\t{decided} 10:00:00+00\n")

            copy_lines(cursor, "credit_record",
                  "subject_id, department_id, category, severity, decision_number, decision_date, facts, sanction, "
                  "sanction_kinds, is_public, publicity_start, shortest_publicity_end, publicity_end, policy_version, "
                  "state, under_objection, published_at, version, created_at, updated_at", record_rows())

            def case_rows():
                for i in range(2 * cases):  # the second half are done: their stopped clocks give the medians
                    submitted = NOW - timedelta(minutes=37 * i % (90 * 1440))
                    state, closed = ("accepted", "\\N") if i < cases else ("decided", submitted + timedelta(days=9))
                    yield (f"YY-2026-{i + 1:07d}\tobjection\t{state}\t{1 + i % 20000}\t1\t\\N\t{1 + i % DEPARTMENTS}\t1\t"
                           f"t\ts\t\\N\t1\t{submitted}\t{submitted}\t{closed}\t{1 + i}\n")

            copy_lines(cursor, '"case"', "number, kind, state, subject_id, applicant_id, assignee_id, department_id, "
                  "policy_version, title, statement, due_at, version, submitted_at, updated_at, closed_at, record_id",
                  case_rows())

            def timer_rows():
                for i in range(cases):
                    started = NOW - timedelta(days=(i * 7) % 20)
                    due = NOW + timedelta(days=(i * 13) % 155 - 5)
                    for name in ("accept", "overall"):
                        yield f"{1 + i}\t{name}\twd\t15\t1\trunning\t{started}\t{clock_end(due)}\t0\t0\n"
                for i in range(cases, 2 * cases):
                    started = NOW - timedelta(days=(i * 11) % 85 + 3)
                    stopped = started + timedelta(hours=(i * 17) % 400 + 8)
                    yield (f"{1 + i}\taccept\twd\t2\t1\tstopped\t{started}\t{clock_end(started + timedelta(days=3))}\t"
                           f"0\t0\t{stopped}\n")

            copy_lines(cursor, "timer", "case_id, clock, unit, length, policy_version, status, started_at, due_at, extended, "
                  "rest_day_shift, stopped_at", _fill(timer_rows()))
            raw.commit()
        finally:
            raw.close()
        load = time.perf_counter() - t0
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
            counts = {
                "records_in_publicity": c.exec_driver_sql(
                    "SELECT count(*) FROM credit_record WHERE state IN ('published', 'corrected')").scalar(),
                "open_cases": c.exec_driver_sql("SELECT count(*) FROM \"case\" WHERE closed_at IS NULL").scalar(),
                "running_clocks": c.exec_driver_sql("SELECT count(*) FROM timer WHERE status = 'running'").scalar(),
                "stopped_clocks": c.exec_driver_sql("SELECT count(*) FROM timer WHERE status = 'stopped'").scalar(),
            }
        engine.dispose()
    return {**counts, "load_seconds": round(load, 1)}


def clock_end(at: datetime) -> str:
    """The end of the Shanghai day of ``at``, as deadlines are (23:59:59.999999, in UTC)."""
    local = (at + timedelta(hours=8)).date()
    return f"{local} 15:59:59.999999+00"


def _fill(rows):
    """Rows with their trailing columns (stopped_at) filled with NULL where they have none."""
    for row in rows:
        yield row if row.count("\t") == 10 else row[:-1] + "\t\\N\n"


def _best(fn, rounds: int) -> tuple[float, list[float]]:
    fn()  # warm-up: plans cached, pages in memory
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), [round(t, 3) for t in times]


def measure(rounds: int) -> dict:
    from benchmarks.benchlib import bench_app

    app = bench_app(URL)
    with app.app_context():
        from sqlalchemy import text

        from app import clock
        from app.extensions import db
        from app.services.calendar import get_working_calendar
        from app.services.forecast import forecast
        from app.services.sla.marks import RULES

        with clock.frozen_clock(NOW):
            until = get_working_calendar().add_working_days(TODAY, 90)
            result = {}

            def product():
                ahead = forecast(90)
                result["rows"] = len(ahead.rows)
                result["total"] = vars(ahead.total())

            records_sql = text("SELECT department_id, publicity_end, count(*) FROM credit_record "
                               "WHERE state IN ('published', 'corrected') AND publicity_end < :until "
                               "GROUP BY department_id, publicity_end")
            timers_sql = text(
                f"WITH rules (kind, clock, binds, fires) AS ({RULES}) "
                "SELECT t.due_at, r.binds, CASE WHEN r.binds = 'department' THEN c.department_id END, count(*) "
                "FROM timer t JOIN \"case\" c ON c.id = t.case_id JOIN rules r ON r.kind = c.kind AND r.clock = t.clock "
                "WHERE t.status = 'running' AND t.due_at <= :end GROUP BY 1, 2, 3")
            end = clock.end_of_day(until)

            def floor():
                db.session.execute(records_sql, {"until": until}).all()
                db.session.execute(timers_sql, {"end": end}).all()
                db.session.rollback()

            def naive():
                day = TODAY
                while day <= until:
                    db.session.execute(text(
                        "SELECT department_id, count(*) FROM credit_record WHERE state IN ('published', 'corrected') "
                        "AND publicity_end = :last GROUP BY department_id"), {"last": day - timedelta(days=1)}).all()
                    db.session.execute(text(
                        "SELECT c.department_id, t.clock, count(*) FROM timer t JOIN \"case\" c ON c.id = t.case_id "
                        "WHERE t.status = 'running' AND t.due_at >= :start AND t.due_at <= :stop "
                        "GROUP BY c.department_id, t.clock"),
                        {"start": clock.start_of_day(day), "stop": clock.end_of_day(day)}).all()
                    day += timedelta(days=1)
                db.session.rollback()

            product_s, product_all = _best(product, rounds)
            floor_s, floor_all = _best(floor, rounds)
            naive_s, naive_all = _best(naive, max(1, rounds // 2))
        db.engine.dispose()
    return {"forecast_seconds": round(product_s, 3), "forecast_rounds": product_all,
            "floor_seconds": round(floor_s, 3), "floor_rounds": floor_all,
            "naive_seconds": round(naive_s, 3), "naive_rounds": naive_all,
            "forecast_vs_floor": round(product_s / floor_s, 2), "naive_vs_forecast": round(naive_s / product_s, 2),
            "horizon_working_days": 90, "calendar_days": (until - TODAY).days + 1, "forecast": result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="measure the database already loaded")
    args = parser.parse_args()
    load = {} if args.keep else prepare(args.records, args.cases)
    figures = measure(args.rounds)
    out = {"benchmark": "forecast", "records": args.records, "open_cases": args.cases, **load, **figures,
           "postgresql": server_version(URL), "cores": os.cpu_count(), "load_average": os.getloadavg()[0]}
    path = ROOT / "benchmarks" / "results" / "forecast.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
