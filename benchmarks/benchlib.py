"""Set-up shared by the benchmarks: a throw-away PostgreSQL database, migrated, and the app."""
from __future__ import annotations

import os
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
