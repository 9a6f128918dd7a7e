"""Bulk inserts inside the caller's transaction: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

A step (no commit). The rows are tuples in the order of the columns named; Python-side column
defaults do not apply, so the caller gives every column without a server default.
"""
from __future__ import annotations

import psycopg
from psycopg.types.json import Json
from sqlalchemy import JSON, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from app.extensions import db

_RESERVE_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def store(model, columns: tuple[str, ...], rows: list[tuple], key: str | None = None) -> list[int]:
    """Insert ``rows`` (values in ``columns`` order) into ``model``'s table; with ``key`` (a column
    unique within the rows), return the new ids in the order of the rows."""
    if not rows:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy(model.__table__, columns, rows, key is not None)
    return _insert_many(model.__table__, columns, rows, key is not None)


def _copy(table, columns: tuple[str, ...], rows: list[tuple], with_ids: bool) -> list[int]:
    """PostgreSQL: ids reserved from the table's sequence in one statement, then one ``COPY``
    through the session's own connection, so in its transaction."""
    connection = db.session.connection()
    ids: list[int] = []
    if with_ids:
        ids = list(connection.execute(_RESERVE_IDS, {"table": table.name, "n": len(rows)}).scalars())
    json_at = {i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)}
    cursor = connection.connection.driver_connection.cursor()
    names = ", ".join(("id", *columns) if with_ids else columns)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    try:
        with cursor.copy(statement) as copy:
            for n, row in enumerate(rows):
                if json_at:
                    row = tuple(Json(v) if i in json_at else v for i, v in enumerate(row))
                copy.write_row((ids[n], *row) if with_ids else row)
    except psycopg.IntegrityError as error:
        # The raw cursor's error, as SQLAlchemy's: a caller catches one kind on both databases
        # (``push.push_records`` looks again after a concurrent push took a number).
        raise IntegrityError(statement, None, error) from error
    return ids


def _insert_many(table, columns: tuple[str, ...], rows: list[tuple], with_ids: bool) -> list[int]:
    """SQLite: one ``executemany`` of one compiled ``INSERT`` (sqlite3 loops over the rows in C).
    With ids, they are taken after the table's largest, as PostgreSQL's path reserves them from
    its sequence: the transaction holds SQLite's write lock from its start (``BEGIN IMMEDIATE``,
    see ``app._sqlite_begin``), so no other writer can take them meanwhile."""
    ids: list[int] = []
    names = columns
    if with_ids:
        first = db.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) + 1
        ids = list(range(first, first + len(rows)))
        names, rows = ("id", *columns), [(ids[n], *row) for n, row in enumerate(rows)]
    db.session.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
    return ids
