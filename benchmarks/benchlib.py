"""Set-up shared by the benchmarks: a throw-away PostgreSQL database, migrated, and the app."""
from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def bench_app(url: str):
    os.environ.setdefault("CASEDESK_INSTANCE", "/tmp/casedesk-bench")
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": "/tmp/casedesk-bench/uploads"})


def fresh_database(url: str):
    """Drop and recreate the database named in ``url``, run the migrations, return the app."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    name = sa.engine.make_url(url).database
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    app = bench_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app


def copy_lines(cursor, table: str, columns: str, lines, chunk: int = 50_000) -> None:
    """COPY ``lines`` (tab-separated, each ending in a newline) into ``table`` through psycopg's
    ``copy``, ``chunk`` lines at a time, so that a seed of millions of rows keeps memory flat."""
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for i, line in enumerate(lines, 1):
            buffer.write(line)
            if i % chunk == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def seed_directory(connection, departments: int, subjects: int = 20_000) -> None:
    """Departments 1..N, legal-person subjects 1..M and applicant account 1 (subject 1): what the
    loaded records and cases point to."""
    for i in range(1, departments + 1):
        connection.exec_driver_sql("INSERT INTO department (id, code, name, is_active, created_at) "
                                   f"VALUES ({i}, 'D{i}', 'Department {i}', true, now())")
    connection.exec_driver_sql("INSERT INTO subject (id, kind, identifier, name, created_at) "
                               "SELECT g, 'legal', lpad(g::text, 18, '0'), 'Subject ' || g, now() "
                               f"FROM generate_series(1, {int(subjects)}) g")
    connection.exec_driver_sql("INSERT INTO user_account (id, username, display_name, password_hash, role, "
                               "subject_id, is_active, created_at) VALUES (1, 'a', 'a', 'x', 'applicant', 1, true, now())")


def peak_mb() -> float:
    """This process's peak resident memory, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_version(url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        version = c.exec_driver_sql("SHOW server_version").scalar()
    engine.dispose()
    return version


def in_child(script: str, phase: str, url: str, *extra: str) -> dict:
    """Run one phase of ``script`` in a fresh process (its memory its own); the JSON it prints last."""
    out = subprocess.run([sys.executable, script, "--phase", phase, "--url", url, *extra],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(script: str, name: str, loads: list[float], phase: str, url: str, *extra: str) -> dict:
    """``in_child``, with the load average before it recorded in ``loads`` and a line printed."""
    loads.append(os.getloadavg()[0])
    figures = in_child(script, phase, url, *extra)
    print(f"{name}: {figures['seconds']:.2f} s, {figures['rows']:,} rows (load {loads[-1]:.2f})", flush=True)
    return figures
