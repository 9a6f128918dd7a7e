"""Objection POSTs in process against PostgreSQL: CPU per POST, the statements of one, a cProfile.

    .venv/bin/python benchmarks/profile_submit.py --prepare        # once: casedesk_perf, 20,000 records
    .venv/bin/python benchmarks/profile_submit.py --posts 300 --statements [--profile out.prof]

Not a benchmark (no floor, no figures kept): the tool that finds where a submission's time goes.
The POSTs go through the production configuration's whole request pipeline (session, second
factor, CSRF, the form, the use case, the commit), as ``submissions.py`` sends them over HTTP.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
BASE = "https://casedesk.example"
PASSWORD = "bench-password-1"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
BOUNDARY = "----casedeskbench7MA4YWxkTrZu0gW"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prepare", action="store_true", help="create the database and its records, then stop")
    parser.add_argument("--database", default="casedesk_perf")
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--profile", default="", help="write a cProfile of the POSTs to this file")
    parser.add_argument("--statements", action="store_true", help="list the statements of one POST")
    args = parser.parse_args()
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}"
    os.environ.update({"CASEDESK_ENV": "production", "SECRET_KEY": "benchmark-secret-key-0123456789abcdef",
                       "PUBLIC_BASE_URL": BASE, "CASEDESK_INSTANCE": "/tmp/casedesk-perf", "DATABASE_URL": url})
    if args.prepare:
        import submissions

        print(submissions.prepare(url, 1, 20_000))
        return
    profile(args)


def profile(args) -> None:
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app("production")
    client = app.test_client()

    def token(path: str) -> str:
        return CSRF.search(client.get(path, base_url=BASE).get_data(as_text=True)).group(1)

    with app.app_context():
        with db.engine.connect() as c:
            first = c.exec_driver_sql('SELECT min(r.id) FROM credit_record r WHERE NOT EXISTS '
                                      '(SELECT 1 FROM "case" k WHERE k.record_id = r.id)').scalar()
    signed_in = client.post("/auth/sign-in", base_url=BASE, headers={"Referer": BASE + "/"},
                            data={"username": "applicant0", "password": PASSWORD, "csrf_token": token("/auth/sign-in")})
    assert signed_in.status_code == 302, signed_in.status_code
    csrf = token(f"/portal/records/{first}/objection")
    cookie = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())
    raw = app.test_client(use_cookies=False)
    stamp, counter = str(time.time()), iter(range(first, 10**9))

    def part(name: str, value: str) -> bytes:
        return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()

    def post() -> None:
        record = next(counter)
        body = (part("csrf_token", csrf) + part("form_token", f"perf-{stamp}-{record}")
                + part("title", "benchmark objection") + part("statement", "the facts are not ours")
                + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="evidence"; filename="e.pdf"\r\n'
                  f'Content-Type: application/pdf\r\n\r\n'.encode()
                + PDF + f"\r\n--{BOUNDARY}--\r\n".encode())
        r = raw.post(f"/portal/records/{record}/objection", base_url=BASE, data=body,
                     headers={"Referer": BASE + "/", "Cookie": cookie,
                              "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        assert r.status_code == 302, (r.status_code, r.get_data(as_text=True)[:2000])

    for _ in range(20):
        post()  # warm up: caches, compiled statements, the pool
    seen: list[str] = []
    statements: collections.Counter[str] = collections.Counter()
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda conn, cur, statement, *rest: seen.append(statement))
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    per_post = []
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.posts):
        seen.clear()
        if profiler:
            profiler.enable()
        post()
        if profiler:
            profiler.disable()
        per_post.append(len(seen))
        statements.update(" ".join(s.split())[:150] for s in seen)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{args.posts} POSTs: statements per POST {min(per_post)}-{max(per_post)}, "
          f"CPU {cpu / args.posts * 1000:.2f} ms, wall {wall / args.posts * 1000:.2f} ms per POST"
          + (" (profiled)" if profiler else ""))
    if args.statements:
        for statement, n in statements.most_common():
            print(f"{n / args.posts:5.2f}  {statement}")
    if profiler:
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
