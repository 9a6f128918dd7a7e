"""Benchmark: objections filed through the real form over HTTP, against a one-row floor app.

    .venv/bin/python benchmarks/submissions.py [--seconds 15] [--rounds 3] [--connections 16]

Prepares a throw-away PostgreSQL database (``casedesk_bench_submit``): a department, two
subjects with a verified applicant each, 40,000 records in publicity per subject (each objection
needs a record without an open one). Then, interleaved in rounds so that the other load on the
machine falls on all of them alike, for 2 and 4 gunicorn sync workers:

* product: ``POST /portal/records/<id>/objection``, multipart (title, statement, a small PDF,
  the CSRF token fetched once per session, a fresh one-time form token per POST), signed in as
  the verified applicant; each POST files a case (302);
* floor: the same multipart body to a minimal Flask app on the same gunicorn that inserts one
  row (``floor_app.py``).

wrk drives 16 connections (2 threads, one applicant each). Writes benchmarks/results/submissions.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import SERVER, bench_app, fresh_database  # noqa: E402
from httpload import csrf_token, lua_string, serve, server_env, sign_in, wrk  # noqa: E402

PASSWORD = "bench-password-1"
PDF = "%PDF-1.4\\n1 0 obj<</Type/Catalog>>endobj\\ntrailer<</Root 1 0 R>>\\n%%EOF\\n"  # Lua escapes


def prepare(url: str, subjects: int, records: int) -> dict:
    app = fresh_database(url)
    with app.app_context():
        from app.extensions import db
        from app.identifiers import complete_uscc
        from app.models import CreditRecord, Department, Subject, User
        from app.models.enums import BindingMethod, RecordCategory, RecordClass, Role, SubjectKind
        from app.services.accounts.signin import hash_password
        from app.services.binding.verification import bind_verified
        from app.services.records.entry import build_record

        department = Department(code="BENCH", name="基准部门")
        db.session.add(department)
        password_hash = hash_password(PASSWORD)
        people = []
        for i in range(subjects):
            subject = Subject(kind=SubjectKind.LEGAL, identifier=complete_uscc(f"913101{i + 1:011d}"), name=f"基准主体{i}")
            user = User(role=Role.APPLICANT, username=f"applicant{i}", display_name=f"applicant {i}",
                        password_hash=password_hash, subject=subject)
            db.session.add_all([subject, user])
            db.session.flush()
            bind_verified(user, BindingMethod.MIGRATION)
            record = build_record(subject, department, severity=RecordClass.GENERAL, decision_date=date.today(),
                                  category=RecordCategory.ADMINISTRATIVE_PENALTY, decision_number=f"T-{i}",
                                  facts="事实", sanction="罚款", sanction_kinds=["fine"])
            db.session.add(record)
            db.session.flush()
            people.append((user.username, subject.id, record.id))
        db.session.commit()
        columns = [c.name for c in CreditRecord.__table__.columns if c.name != "id"]
        chosen = ", ".join("'B-' || t.subject_id || '-' || g" if c == "decision_number" else f"t.{c}" for c in columns)
        spans = []
        with db.engine.begin() as c:
            for username, _subject, template in people:
                first = c.exec_driver_sql(
                    f"INSERT INTO credit_record ({', '.join(columns)}) SELECT {chosen} FROM credit_record t, "
                    f"generate_series(1, {records}) g WHERE t.id = {template} RETURNING id"
                ).scalars().all()
                spans.append({"username": username, "first": min(first), "last": max(first)})
            c.exec_driver_sql("CREATE TABLE bench_floor (id serial PRIMARY KEY, title text, statement text, "
                              "size int, created_at timestamptz DEFAULT now())")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
        db.engine.dispose()
    return {"subjects": subjects, "records": subjects * records, "spans": spans}


LUA = r"""
local sessions = %(sessions)s
local offset = %(offset)d
local path_fmt = %(path)s
local boundary = "----casedeskbench7MA4YWxkTrZu0gW"
local counter, me = 0, nil
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("index", threads)
end

function init(args)
  me = sessions[index]
end

local function part(name, value)
  return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name .. "\"\r\n\r\n" .. value .. "\r\n"
end

function request()
  local record = me.first + offset + counter
  counter = counter + 1
  local body = part("csrf_token", me.csrf) .. part("form_token", "bench-" .. index .. "-" .. offset .. "-" .. counter)
    .. part("title", "benchmark objection") .. part("statement", "the facts are not ours")
    .. "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"evidence\"; filename=\"e.pdf\"\r\n"
    .. "Content-Type: application/pdf\r\n\r\n" .. "%(pdf)s" .. "\r\n--" .. boundary .. "--\r\n"
  local headers = {["Content-Type"] = "multipart/form-data; boundary=" .. boundary, ["Cookie"] = me.cookie}
  return wrk.format("POST", string.format(path_fmt, record), headers, body)
end
"""


def lua_sessions(sessions: list[dict]) -> str:
    rows = [f'{{cookie = {lua_string(s["cookie"])}, csrf = {lua_string(s["csrf"])}, first = {s["first"]}}}'
            for s in sessions]
    return "{" + ", ".join(rows) + "}"


def count_cases(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        n = c.exec_driver_sql('SELECT count(*) FROM "case"').scalar()
    engine.dispose()
    return n


def run_product(env: dict, url: str, workers: int, spans: list[dict], offset: int, seconds: int,
                connections: int) -> dict:
    with serve("wsgi:app", workers, env) as base:
        sessions = []
        for span in spans:
            cookie = sign_in(base, span["username"], PASSWORD)
            token, cookie = csrf_token(base, f"/portal/records/{span['first']}/objection", cookie)
            sessions.append({**span, "cookie": cookie, "csrf": token})
        lua = LUA % {"sessions": lua_sessions(sessions), "offset": offset, "path": lua_string("/portal/records/%d/objection"),
                     "pdf": PDF}
        before = count_cases(url)
        figures = wrk(f"{base}/portal/", connections, seconds, lua, threads=len(sessions))
        figures["cases_filed"] = count_cases(url) - before
    return figures


def run_floor(env: dict, workers: int, seconds: int, connections: int) -> dict:
    with serve("floor_app:create()", workers, env) as base:
        lua = LUA % {"sessions": lua_sessions([{"cookie": "", "csrf": "x", "first": 0}] * 2), "offset": 0,
                     "path": lua_string("/floor/insert?r=%d"), "pdf": PDF}
        return wrk(f"{base}/floor/insert", connections, seconds, lua, threads=2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--records", type=int, default=40_000, help="records per subject")
    parser.add_argument("--database", default="casedesk_bench_submit")
    args = parser.parse_args()
    url = f"{SERVER}/{args.database}"
    print("preparing ...", flush=True)
    data = prepare(url, 2, args.records)
    bench_app(url)  # fails early on a broken set-up
    env = server_env(url.replace("postgresql+psycopg://", "postgresql://", 1))
    runs: dict[str, list[dict]] = {"product_2w": [], "product_4w": [], "floor_2w": [], "floor_4w": []}
    offset = 0
    for round_no in range(args.rounds):
        for workers in (2, 4):
            product = run_product(env, url, workers, data["spans"], offset, args.seconds, args.connections)
            offset += product["requests"] + 100
            runs[f"product_{workers}w"].append(product)
            floor = run_floor(env, workers, args.seconds, args.connections)
            runs[f"floor_{workers}w"].append(floor)
            print(f"round {round_no + 1}, {workers} workers: product {product['per_second']}/s "
                  f"p99 {product['p99_ms']} ms errors {product['errors']} | floor {floor['per_second']}/s "
                  f"p99 {floor['p99_ms']} ms | load {product['load_average_1m']}", flush=True)

    def summary(name: str) -> dict:
        rows = runs[name]
        return {"per_second_median": statistics.median(r["per_second"] for r in rows),
                "p50_ms_median": statistics.median(r["p50_ms"] for r in rows),
                "p95_ms_median": statistics.median(r["p95_ms"] for r in rows),
                "p99_ms_median": statistics.median(r["p99_ms"] for r in rows),
                "errors_total": sum(r["errors"] for r in rows)}

    summaries = {name: summary(name) for name in runs}
    result = {
        "benchmark": "submissions",
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "data": {"subjects": data["subjects"], "records": data["records"]},
        "connections": args.connections, "seconds_per_run": args.seconds, "rounds": args.rounds,
        "summary": summaries,
        "floor_to_product_2w": round(summaries["floor_2w"]["per_second_median"]
                                     / summaries["product_2w"]["per_second_median"], 2),
        "product_4w_to_2w": round(summaries["product_4w"]["per_second_median"]
                                  / summaries["product_2w"]["per_second_median"], 2),
        "runs": runs,
    }
    (ROOT / "benchmarks" / "results" / "submissions.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
