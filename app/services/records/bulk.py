"""Bulk inserts inside the caller's transaction: ``COPY`` on PostgreSQL, multi-row ``INSERT`` on SQLite.

A step (no commit). The rows are tuples in the order of the columns named; Python-side column
defaults do not apply, so the caller gives every column without a server default.
"""
from __future__ import annotations

from psycopg.types.json import Json
from sqlalchemy import JSON, insert, text

from app.extensions import db

SQLITE_PARAMETERS_PER_STATEMENT = 32_000  # SQLite allows 32,766 bound parameters per statement

_RESERVE_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


def store(model, columns: tuple[str, ...], rows: list[tuple], key: str | None = None) -> list[int]:
    """Insert ``rows`` (values in ``columns`` order) into ``model``'s table; with ``key`` (a column
    unique within the rows), return the new ids in the order of the rows."""
    if not rows:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy(model.__table__, columns, rows, key is not None)
    return _insert_values(model.__table__, columns, rows, key)


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
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for n, row in enumerate(rows):
            if json_at:
                row = tuple(Json(v) if i in json_at else v for i, v in enumerate(row))
            copy.write_row((ids[n], *row) if with_ids else row)
    return ids


def _insert_values(table, columns: tuple[str, ...], rows: list[tuple], key: str | None) -> list[int]:
    """SQLite: multi-row ``INSERT ... VALUES`` statements, as many rows each as the parameters allow;
    the ids come back with the rows' ``key`` (RETURNING promises no order)."""
    ids: dict = {}
    per_statement = max(1, SQLITE_PARAMETERS_PER_STATEMENT // len(columns))
    at = columns.index(key) if key else None
    for start in range(0, len(rows), per_statement):
        values = [dict(zip(columns, row, strict=True)) for row in rows[start:start + per_statement]]
        stmt = insert(table).values(values)
        if key is None:
            db.session.execute(stmt)
        else:
            ids.update(db.session.execute(stmt.returning(table.c[key], table.c.id)).all())
    return [ids[row[at]] for row in rows] if key else []
