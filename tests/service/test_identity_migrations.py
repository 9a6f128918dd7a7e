"""Migrations 0015 and 0018 on data written before them: whose word a subject's name is, and
since when a department has had a case before it."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db as _db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
NOW = "2026-11-10 02:00:00"


@pytest.fixture
def old_app(throwaway_database, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": throwaway_database, "UPLOAD_DIR": str(tmp_path / "u")})
    try:
        with app.app_context():
            yield app
    finally:
        with app.app_context():
            _db.engine.dispose()


def _insert(c, table: str, **values) -> None:
    columns = ", ".join(f'"{k}"' for k in values)
    c.execute(sa.text(f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join(":" + k for k in values)})'), values)


def _subject(c, id_, identifier, name):
    _insert(c, "subject", id=id_, kind="legal", identifier=identifier, name=name, created_at=NOW)


def _record(c, id_, subject_id):
    _insert(c, "credit_record", id=id_, subject_id=subject_id, department_id=1, category="administrative_penalty",
            severity="general", decision_number=f"D-{id_}", decision_date="2026-10-01", facts="f", sanction="s",
            sanction_kinds="[]", publicity_start="2026-10-01", shortest_publicity_end="2027-01-01",
            publicity_end="2029-10-01", policy_version=1, state="published", published_at=NOW, created_at=NOW,
            updated_at=NOW)


def _world(c):
    _insert(c, "department", id=1, code="D1", name="市场监管局", created_at=NOW, is_active=True)
    _subject(c, 1, "91310100000000001X", "部门提供的名称")  # a department's record names it
    _subject(c, 2, "91310100000000002X", "注册时自称的名称")  # only a sign-up ever named it
    _record(c, 1, 1)
    _insert(c, "user_account", id=1, username="a", display_name="a", password_hash="x", role="applicant",
            subject_id=1, is_active=True, created_at=NOW)


def test_0015_names_only_a_sign_up_gave_are_claimed(old_app):
    upgrade(directory=str(MIGRATIONS), revision="0014")
    with _db.engine.begin() as c:
        _world(c)
    upgrade(directory=str(MIGRATIONS), revision="0015")
    with _db.engine.connect() as c:
        sources = dict(c.execute(sa.text("SELECT id, name_source FROM subject")).all())
    assert sources == {1: "department", 2: "claimed"}
    downgrade(directory=str(MIGRATIONS), revision="0014")
    assert "subject_name_mismatch" not in sa.inspect(_db.engine).get_table_names()


def test_0018_referred_since_the_first_referral_and_never_for_an_officers_complaint(old_app):
    upgrade(directory=str(MIGRATIONS), revision="0017")
    with _db.engine.begin() as c:
        _world(c)
        for id_ in (2, 3):
            _record(c, id_, 1)
        cases = {  # id: kind, state, department, events (trigger, at, data)
            1: ("objection", "replied", 1, [("accept", "2026-11-02 02:00:00", None),
                                            ("refer", "2026-11-03 02:00:00", None),
                                            ("reply", "2026-11-04 02:00:00", None)]),
            2: ("objection", "accepted", 1, [("accept", "2026-11-02 02:00:00", None)]),  # not yet referred
            3: ("repair", "under_review", 1, [("ask_department", "2026-11-05 02:00:00", None),
                                              ("give_opinion", "2026-11-06 02:00:00", None)]),
            4: ("complaint", "assigned", 1, [("assign", "2026-11-07 02:00:00", '{"assignee_id": 9}')]),
            5: ("complaint", "assigned", 1, [("assign", "2026-11-08 02:00:00", '{"department_id": 1}')]),
            6: ("complaint", "assigned", 1, [("assign", "2026-11-09 02:00:00", None)]),  # to its department
        }
        for id_, (kind, state, department, events) in cases.items():
            _insert(c, "case", id=id_, number=f"N-{id_}", kind=kind, state=state, subject_id=1, applicant_id=1,
                    record_id=None if kind == "complaint" else id_, department_id=department, policy_version=1, title="t", statement="s", submitted_at=NOW,
                    updated_at=NOW, version=1)
            for seq, (trigger, at, data) in enumerate(events, start=1):
                _insert(c, "case_event", case_id=id_, seq=seq, at=at, trigger=trigger, to_state=state, data=data)
    upgrade(directory=str(MIGRATIONS), revision="0018")
    with _db.engine.connect() as c:
        referred = dict(c.execute(sa.text('SELECT id, referred_at FROM "case"')).all())
    days = {id_: (str(at)[:10] if at is not None else None) for id_, at in referred.items()}  # SQLite: text
    assert days == {1: "2026-11-03", 2: None, 3: "2026-11-05", 4: None, 5: "2026-11-08", 6: "2026-11-09"}
    downgrade(directory=str(MIGRATIONS), revision="0017")
    assert "referred_at" not in {col["name"] for col in sa.inspect(_db.engine).get_columns("case")}
