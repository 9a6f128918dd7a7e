"""The SQL a piece of work sends, for tests that count or look for statements."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db

_OWN = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")  # the test's own transaction


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """The statements sent on the app's engine inside the block, in order, without the
    savepoints the tests' transaction wraps each piece of work in."""
    seen: list[str] = []

    def take(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(_OWN):
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", take)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", take)
