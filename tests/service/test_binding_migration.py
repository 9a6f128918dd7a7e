"""Migration 0013: accounts bound before verification existed keep their access, audited."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db as _db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def test_bound_accounts_are_verified_by_migration_with_an_event(throwaway_database, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": throwaway_database, "UPLOAD_DIR": str(tmp_path / "u")})
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS), revision="0012")
            with _db.engine.begin() as c:
                c.execute(sa.text("INSERT INTO subject (id, kind, identifier, name, created_at) VALUES "
                                  "(1, 'legal', '91310100000000001X', '迁移测试有限公司', CURRENT_TIMESTAMP)"))
                for n, (role, subject) in enumerate([("applicant", 1), ("officer", None)], start=1):
                    c.execute(sa.text(
                        "INSERT INTO user_account (id, username, display_name, password_hash, role, subject_id,"
                        " is_active, created_at) VALUES (:id, :name, :name, 'x', :role, :subject, :yes,"
                        " CURRENT_TIMESTAMP)"), {"id": n, "name": f"u{n}", "role": role, "subject": subject,
                                                 "yes": True})
            upgrade(directory=str(MIGRATIONS), revision="0013")
            with _db.engine.connect() as c:
                bindings = c.execute(sa.text(
                    "SELECT user_id, subject_id, state, method, capacity, verified_at IS NOT NULL"
                    " FROM subject_binding")).all()
                events = c.execute(sa.text("SELECT trigger, to_state, actor_id FROM binding_event")).all()
            assert [tuple(b) for b in bindings] == [(1, 1, "verified", "migration", "legal_representative", True)]
            assert [tuple(e) for e in events] == [("verify_by_migration", "verified", None)]
            downgrade(directory=str(MIGRATIONS), revision="0012")
            assert "subject_binding" not in sa.inspect(_db.engine).get_table_names()
    finally:
        with app.app_context():
            _db.engine.dispose()
