"""Test set-up: one database per test session, built by the migrations; each test rolled back.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/casedesk_test``). The PostgreSQL database
is emptied (schema dropped and recreated) at the start of the session, so point the URL at a
throw-away database.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import orm

from app import clock, create_app
from app.extensions import db as _db
from app.services.memo import forget_answers
from config import _normalise_db_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def pytest_report_header(config):
    return f"database: {TEST_DATABASE_URL or 'SQLite (temporary file)'}"


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        url = _normalise_db_url(TEST_DATABASE_URL)
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
            "SERVER_NAME": "casedesk.test",
        }
    )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The database inside one transaction, rolled back after the test.

    Services commit as usual; their commits release a SAVEPOINT inside the outer
    transaction, so nothing outlives the test.
    """
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        flask_session = _db.session
        _db.session = _TestSession(
            orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield _db
        finally:
            _db.session.close_for_real()
            _db.session = flask_session
            outer.rollback()
            connection.close()


class _TestSession(orm.scoped_session):
    """One session for the test and the requests it makes, so the test's objects stay usable.

    Flask-SQLAlchemy removes the session after every request; here that only expires what
    it holds, so the next request reads fresh rows, as it would with a new session.
    """

    def remove(self) -> None:
        self.registry().expire_all()
        forget_answers(self.registry())  # the answers a transaction keeps (app.services.memo)

    def close_for_real(self) -> None:
        super().remove()


class RequestClient(FlaskClient):
    """Each request runs in an application context of its own, as in production.

    The test itself holds an application context (for the factories); without this, every
    request would share its ``g`` and with it the cached user, locale and CSRF token.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db):
    app.test_client_class = RequestClient
    return app.test_client()


@pytest.fixture
def frozen(request):
    """Freeze the clock; ``frozen.set(...)`` and ``frozen.advance(...)`` move it."""
    from datetime import datetime

    start = getattr(request, "param", datetime(2026, 11, 25, 10, 0))
    with clock.frozen_clock(start) as c:
        yield c


@pytest.fixture
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def throwaway_database(database_url, tmp_path):
    """The URL of an empty database of the same kind as the suite's, dropped afterwards.

    For tests that need real commits seen by several connections (concurrency, migrations),
    which the rolled-back ``db`` fixture cannot give.
    """
    import uuid

    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'throwaway.sqlite3'}"
        return
    name = f"casedesk_tmp_{uuid.uuid4().hex[:10]}"
    server = sa.engine.make_url(database_url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def committed_app(throwaway_database, tmp_path):
    """A migrated application on a throw-away database, where services really commit."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": throwaway_database, "UPLOAD_DIR": str(tmp_path / "uploads")})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    try:
        yield app
    finally:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
