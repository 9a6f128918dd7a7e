"""Public statistics at a million cases (issue 16, "every page cheap"): the report against its
floor, and the page as it reads it, in one run.

    .venv/bin/python benchmarks/statistics_report.py                  # 1,000,000 cases over 24 months, 3 rounds
    .venv/bin/python benchmarks/statistics_report.py --cases 200000 --rounds 1
    .venv/bin/python benchmarks/statistics_report.py --keep           # measure the database already loaded

Loads with COPY into a throw-away PostgreSQL database (``casedesk_bench_stats``) 8 departments,
one record in publicity per objection or repair (published over the 24 months, one in 20 late)
and N cases submitted over the 24 months (half objections, a quarter repairs, a quarter
complaints, a fifth of those about no department), each with its events as its workflow writes
them (submit, accept, refer, reply, a decision by outcome, close; a tenth not accepted; the
newest still open at some step) and its staff clocks (accept, refer, verify, overall, reply:
stopped when their step was done, one in eight late, the open ones running, some overdue).

Then each phase in a fresh process (its peak memory its own), the phases interleaved round after
round, the load average recorded before each, each timed after a warm-up in its process:

- **floor**: the report's grouped statements as bare SQL, rows fetched and nothing else: the
  counted events by month, department, kind and trigger; the records by month and department;
  the closed cases by month, department and kind (a count, no median); the deadlines' statement
  of ``compliance_by_month`` as the product compiles it (taken from its own run);
- **report**: ``build_report()``, everything the public figures need, suppressed;
- **page**: ``published_report()`` as ``/statistics`` calls it, with a snapshot stored (when the
  product has snapshots; before them, the per-process cache: its first call, ``first_seconds``, is
  the reader after the cache expired, the later ones the cache's hits);
- **job**: ``statistics_job()`` as the scheduler runs it: the report computed, stored, the older
  snapshots pruned, committed (before snapshots: the same as **page**).

Figures go to benchmarks/results/statistics.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.benchlib import (  # noqa: E402
    SERVER,
    copy_lines,
    fresh_database,
    in_child,
    peak_mb,
    seed_directory,
    server_version,
)

URL = f"{SERVER}/casedesk_bench_stats"
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
START = datetime(2024, 12, 31, 16, 0, tzinfo=UTC)  # 2025-01-01 00:00 in Shanghai: the first published month
DEPARTMENTS = 8
OUTCOMES = ("correct", "revoke", "maintain", "unresolved")
_STARTS = {("objection", "accepted"): "refer", ("objection", "referred"): "verify", ("complaint", "accepted"): "reply"}


def _ts(at: datetime) -> str:
    return at.isoformat(sep=" ")


def _case(i: int, n: int):
    """Case ``i``: (kind, department, submitted, [(trigger, from, to, at)], closed, state, [timers])."""
    span = (NOW - timedelta(days=1) - START).total_seconds()
    submitted = START + timedelta(seconds=span * i / n + (i * 7919) % 3600)
    kind = ("objection", "objection", "repair", "complaint")[i % 4]
    department = None if kind == "complaint" and (i // 4) % 5 == 0 else 1 + i % DEPARTMENTS
    h = (i * 2654435761) % 1000  # a spread, the same each load
    day = timedelta(days=1)
    late = h % 8 == 0
    if kind == "objection":
        steps = [("accept", "submitted", "accepted", 1 + h % 3, "accept"),
                 ("refer", "accepted", "referred", 2 + h % 4, "refer"),
                 ("reply", "referred", "replied", 5 + h % 12 + (14 if late else 0), "verify"),
                 (f"decide_{OUTCOMES[h % 4]}", "replied", "decided", 3 + h % 9, "overall"),
                 ("close", "decided", "closed", 2, None)]
        if h % 10 == 0:
            steps = [("not_accept", "submitted", "not_accepted", 1 + h % 3, "accept")]
        done_at = {"decided", "not_accepted"}
        clocks = {"accept": 5, "refer": 5, "verify": 20, "overall": 60}
    elif kind == "repair":
        trigger, dest = ("approve", "approved") if h % 3 else ("deny", "denied")
        steps = [("accept", "submitted", "under_review", 1 + h % 4, "accept"),
                 (trigger, "under_review", dest, 4 + h % 25, "overall")]
        if h % 10 == 1:
            steps = [("not_accept", "submitted", "not_accepted", 1 + h % 3, "accept")]
        done_at = {"approved", "denied", "not_accepted"}
        clocks = {"accept": 5, "overall": 30}
    else:
        steps = [("accept", "submitted", "accepted", 1 + h % 3, "accept"),
                 ("assign", "accepted", "assigned", 1, None),
                 ("respond", "assigned", "responded", 3 + h % 15 + (10 if late else 0), "reply")]
        if h % 10 == 2:
            steps = [("not_accept", "submitted", "not_accepted", 1 + h % 3, "accept")]
        done_at = {"responded", "not_accepted"}
        clocks = {"accept": 5, "reply": 15}
    events = [("submit", None, "submitted", submitted)]
    timers = []  # (clock, started, due, stopped or None)
    running = {"accept": submitted}
    if "overall" in clocks:
        running["overall"] = submitted
    at, state, closed = submitted, "submitted", None
    for trigger, source, dest, days, stops in steps:
        nxt = at + days * day + timedelta(minutes=h % 300)
        if nxt >= NOW:
            break
        at, state = nxt, dest
        events.append((trigger, source, dest, at))
        for name in [stops] if stops else []:
            if name in running:
                started = running.pop(name)
                timers.append((name, started, started + clocks[name] * day, at))
        if dest in done_at and closed is None:
            closed = at
            for name in list(running):  # a done case stops what still ran
                started = running.pop(name)
                timers.append((name, started, started + clocks[name] * day, at))
        following = _STARTS.get((kind, dest))
        if following:
            running[following] = at
    for name, started in running.items():  # still open: the clocks of its step run
        timers.append((name, started, started + clocks[name] * day, None))
    return kind, department, submitted, events, closed, state, timers


def prepare(n: int) -> dict:
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
            span = (NOW - START).total_seconds()

            def record_rows():
                for i in range(n):
                    published = START + timedelta(seconds=span * i / n)
                    decided = published.date()
                    end = decided + timedelta(days=3 * 365)
                    yield (f"{i + 1}\t{1 + i % 20000}\t{1 + i % DEPARTMENTS}\tadministrative_penalty\tgeneral\t"
                           f"F{i:08d}\t{decided}\tfacts\tfine\t[\"fine\"]\tt\t{decided}\t{end}\t{end}\t1\tpublished\t"
                           f"f\t{_ts(published)}\t1\t{_ts(published)}\t{_ts(published)}\t{'t' if i % 20 == 0 else 'f'}\n")

            copy_lines(cursor, "credit_record",
                       "id, subject_id, department_id, category, severity, decision_number, decision_date, facts, "
                       "sanction, sanction_kinds, is_public, publicity_start, shortest_publicity_end, publicity_end, "
                       "policy_version, state, under_objection, published_at, version, created_at, updated_at, "
                       "published_late", record_rows())
            counts = {"events": 0, "timers": 0, "closed": 0}

            def case_rows():
                for i in range(n):
                    kind, department, submitted, events, closed, state, _ = _case(i, n)
                    counts["closed"] += closed is not None
                    record = "\\N" if kind == "complaint" else i + 1
                    yield (f"{i + 1}\tYY-{i + 1:08d}\t{kind}\t{state}\t{1 + i % 20000}\t1\t\\N\t"
                           f"{department or chr(92) + 'N'}\t1\tt\ts\t\\N\t1\t{_ts(submitted)}\t{_ts(events[-1][3])}\t"
                           f"{_ts(closed) if closed else chr(92) + 'N'}\t{record}\n")

            copy_lines(cursor, '"case"', "id, number, kind, state, subject_id, applicant_id, assignee_id, department_id, "
                       "policy_version, title, statement, due_at, version, submitted_at, updated_at, closed_at, record_id",
                       case_rows())

            def event_rows():
                for i in range(n):
                    for seq, (trigger, source, dest, at) in enumerate(_case(i, n)[3], 1):
                        counts["events"] += 1
                        yield f"{i + 1}\t{seq}\t{_ts(at)}\t{trigger}\t{source or chr(92) + 'N'}\t{dest}\n"

            copy_lines(cursor, "case_event", "case_id, seq, at, trigger, from_state, to_state", event_rows())

            def timer_rows():
                for i in range(n):
                    for name, started, due, stopped in _case(i, n)[6]:
                        counts["timers"] += 1
                        status = "stopped" if stopped else "running"
                        yield (f"{i + 1}\t{name}\twd\t5\t1\t{status}\t{_ts(started)}\t{_ts(due)}\t0\t0\t"
                               f"{_ts(stopped) if stopped else chr(92) + 'N'}\n")

            copy_lines(cursor, "timer", "case_id, clock, unit, length, policy_version, status, started_at, due_at, "
                       "extended, rest_day_shift, stopped_at", timer_rows())
            for table in ("credit_record", '"case"', "case_event", "timer"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            raw.commit()
        finally:
            raw.close()
        load = time.perf_counter() - t0
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
        engine.dispose()
    return {"cases": n, "records": n, **counts, "load_seconds": round(load, 1)}


def _floor_statements(since: datetime) -> list:
    """The report's grouped statements, bare; the deadlines' one as the product compiles it."""
    from sqlalchemy import event, text

    from app.extensions import db
    from app.services.sla import compliance_by_month
    from app.services.statistics.report import _COUNTED

    taken = []

    def take(conn, cursor, statement, parameters, context, executemany):
        taken.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", take)
    compliance_by_month(since)
    event.remove(db.engine, "before_cursor_execute", take)
    month = "to_char(timezone('Asia/Shanghai', {}), 'YYYY-MM')"
    triggers = ", ".join(f"'{t}'" for t in sorted({t for _, t in _COUNTED}))
    return [
        (text(f"SELECT {month.format('e.at')}, c.department_id, c.kind, e.trigger, count(*) FROM case_event e "
              f"JOIN \"case\" c ON c.id = e.case_id WHERE e.at >= :since AND e.trigger IN ({triggers}) "
              "GROUP BY 1, 2, 3, 4"), {"since": since}),
        (text(f"SELECT {month.format('published_at')}, department_id, count(*), "
              "sum(CASE WHEN published_late THEN 1 ELSE 0 END) FROM credit_record WHERE published_at >= :since "
              "GROUP BY 1, 2"), {"since": since}),
        (text(f"SELECT {month.format('closed_at')}, department_id, kind, count(*) FROM \"case\" "
              "WHERE closed_at >= :since GROUP BY 1, 2, 3"), {"since": since}),
        *[(statement, parameters) for statement, parameters in taken if "timer" in statement],
    ]


def phase(name: str, rounds: int) -> dict:
    from benchmarks.benchlib import bench_app

    app = bench_app(URL)
    with app.app_context():
        from app import clock
        from app.extensions import db
        from app.services import statistics

        with clock.frozen_clock(NOW):
            since = START
            base = peak_mb()
            rows = {}
            if name == "floor":
                statements = _floor_statements(since)
                raw = db.engine.raw_connection()

                def run():
                    cursor = raw.cursor()
                    got, parts = 0, []
                    for statement, parameters in statements:
                        t = time.perf_counter()
                        if isinstance(statement, str):
                            cursor.execute(statement, parameters)
                            got += len(cursor.fetchall())
                        else:
                            got += len(db.session.execute(statement, parameters).all())
                        parts.append(round(time.perf_counter() - t, 3))
                    db.session.rollback()
                    raw.rollback()
                    rows["rows"] = got
                    rows.setdefault("parts", []).append(parts)  # events, records, closed cases, deadlines
            elif name == "report":
                def run():
                    report = statistics.build_report()
                    rows["rows"] = len(report.cases) + len(report.deadlines)
                    db.session.rollback()
            elif name == "job" and hasattr(statistics, "statistics_job"):
                def run():
                    rows["rows"] = statistics.statistics_job().rows  # computed, stored, the older pruned
            else:  # "page"
                if hasattr(statistics, "store_snapshot"):
                    statistics.store_snapshot()
                    db.session.commit()

                def run():
                    report = statistics.published_report()
                    rows["rows"] = len(report.cases) + len(report.deadlines)
                    db.session.rollback()
            t0, c0 = time.perf_counter(), time.process_time()
            run()  # the first, cold in this process (plans, pages, imports)
            first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
            times, cpu = [], []
            for _ in range(rounds):
                t0, c0 = time.perf_counter(), time.process_time()
                run()
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        db.engine.dispose()
    return {"seconds": min(times), "rounds": [round(t, 4) for t in times], "cpu_seconds": round(min(cpu), 4),
            "first_seconds": round(first, 4), "first_cpu_seconds": round(first_cpu, 4),
            "peak_mb": round(peak_mb(), 1), "baseline_mb": round(base, 1),
            "growth_mb": round(peak_mb() - base, 1), "rows": rows.get("rows"), "parts": rows.get("parts")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="measure the database already loaded")
    parser.add_argument("--phase")
    parser.add_argument("--url")
    parser.add_argument("--label", default="", help="what the run measures (before, after), in the result")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "statistics.json"))
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.rounds)))
        return
    data = {} if args.keep else prepare(args.cases)
    if data:
        print(f"loaded: {data}", flush=True)
    phases = ("floor", "report", "page", "job")
    runs: dict[str, list[dict]] = {p: [] for p in phases}
    loads = []
    for round_no in range(2):
        for p in phases if round_no % 2 == 0 else reversed(phases):
            loads.append(os.getloadavg()[0])
            figures = in_child(str(Path(__file__)), p, URL, "--rounds", str(args.rounds))
            figures["load"] = loads[-1]
            runs[p].append(figures)
            print(f"{p}: {figures['seconds']:.3f} s (first {figures['first_seconds']:.3f} s), cpu "
                  f"{figures['cpu_seconds']:.3f} s, peak {figures['peak_mb']} MB (+{figures['growth_mb']}), "
                  f"{figures['rows']} rows, load {loads[-1]:.2f}", flush=True)
    best = {p: min(r["seconds"] for r in rows) for p, rows in runs.items()}
    out = {"benchmark": "statistics", "label": args.label, "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "cases_loaded": args.cases, **data, "best_seconds": best,
           "report_vs_floor": round(best["report"] / best["floor"], 2),
           "page_vs_floor": round(best["page"] / best["floor"], 4),
           "peak_mb": {p: max(r["peak_mb"] for r in rows) for p, rows in runs.items()},
           "runs": runs, "load_averages": loads, "postgresql": server_version(URL), "cores": os.cpu_count(),
           "machine": platform.platform(), "python": platform.python_version()}
    Path(args.out).write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=2, default=str))


if __name__ == "__main__":
    main()
