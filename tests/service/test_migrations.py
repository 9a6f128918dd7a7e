"""Migrations: numbered, one head recorded in migrations/HEAD, in step with the models, reversible."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db as _db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def test_one_head_and_it_is_the_recorded_one():
    scripts = ScriptDirectory.from_config(_alembic_config())
    heads = scripts.get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    assert heads[0] == (MIGRATIONS / "HEAD").read_text().strip()


def test_revisions_are_numbered_in_sequence():
    scripts = ScriptDirectory.from_config(_alembic_config())
    chain = list(reversed(list(scripts.walk_revisions())))
    for n, script in enumerate(chain, start=1):
        assert script.revision == f"{n:04d}"
        assert Path(script.path).name.startswith(f"{n:04d}_")
        assert script.down_revision == (None if n == 1 else f"{n - 1:04d}")


def test_models_and_migrations_agree(app, db):
    """Autogenerate finds nothing to do: every model change has shipped its migration."""
    connection = db.session.connection()  # the test's own: a second one would wait for its lock
    diff = compare_metadata(MigrationContext.configure(connection), _db.metadata)
    assert diff == []


def test_upgrade_to_head_and_down_to_base(throwaway_database, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": throwaway_database, "UPLOAD_DIR": str(tmp_path / "u")})
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS))
            tables = set(sa.inspect(_db.engine).get_table_names())
            assert {"case", "credit_record", "case_event", "policy", "notification"} <= tables
            downgrade(directory=str(MIGRATIONS), revision="base")
            assert set(sa.inspect(_db.engine).get_table_names()) <= {"alembic_version"}
            upgrade(directory=str(MIGRATIONS))  # and up again: downgrade left nothing behind
    finally:
        with app.app_context():
            _db.engine.dispose()
