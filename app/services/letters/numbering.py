"""Document numbers: a yearly sequence per kind of letter, without gaps."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import LetterNumberCounter

_COUNTER = LetterNumberCounter.__table__


def next_seq(kind: str, year: int) -> int:
    """The next number of ``kind`` in ``year``: one upsert that raises the counter and returns it.

    A step inside the issuing transaction. On PostgreSQL the counter row stays locked until that
    transaction ends, so a second letter of the same kind waits for the first to commit (and gets
    the number after it) or to roll back (and gets the same number): no gaps, no repeats. SQLite
    has one writer at a time anyway. A new year starts from a new row, at 1.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_COUNTER).values(kind=str(kind), year=year, last=1)
    statement = statement.on_conflict_do_update(
        index_elements=[_COUNTER.c.kind, _COUNTER.c.year], set_={"last": _COUNTER.c.last + 1},
    ).returning(_COUNTER.c.last)
    return db.session.execute(statement).scalar_one()
