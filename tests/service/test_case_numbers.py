"""Case numbers drawn in the case's own INSERT on PostgreSQL (``case_number_next``, migration
0034), the counter row on SQLite (issue 16, item 5)."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app import clock
from app.models.enums import CaseKind
from tests.factories import make_people, make_record, submit
from tests.statements import recorded_statements


def test_a_submission_knows_its_number_without_reading_the_case_again(db):
    people = make_people()
    first = submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
    with recorded_statements() as statements:
        second = submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
        number = second.number
    year = clock.local(clock.now()).year
    assert first.number.startswith(f"YY-{year}-")
    assert int(number.rsplit("-", 1)[1]) == int(first.number.rsplit("-", 1)[1]) + 1
    assert not [s for s in statements if s.startswith('SELECT "case"') or "nextval" in s]  # read back by RETURNING


def test_two_first_cases_of_a_year_at_once_both_get_a_number(throwaway_database, committed_app, is_postgres):
    """The second transaction waits for the first to commit the year's new sequence, is refused
    the name and draws from the sequence the first created."""
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time: its counter row is never created twice at once")
    engine = sa.create_engine(throwaway_database)
    draw = sa.text("SELECT case_number_next('repair', 2077, 'XF')")
    second: dict = {}
    try:
        with engine.connect() as a, engine.connect() as b:
            first = a.execute(draw).scalar()  # creates the sequence, not committed yet

            def other() -> None:
                second["number"] = b.execute(draw).scalar()
                b.commit()

            thread = threading.Thread(target=other)
            thread.start()
            thread.join(1.0)
            assert thread.is_alive()  # waits for the first transaction
            a.commit()
            thread.join(30)
    finally:
        engine.dispose()
    assert (first, second.get("number")) == ("XF-2077-000001", "XF-2077-000002")
