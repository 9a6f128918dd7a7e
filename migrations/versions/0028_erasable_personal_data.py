"""Personal data that really goes (issue 13, item 7): the audit trail points to an erasable table.

* ``personal_data``: the personal part of an audit row (a free-text reason, the texts, names,
  user names, e-mail addresses and file names in its data or snapshots); the retention purge
  blanks it (``body`` NULL, ``erased_at``) and never touches the audit row.
* ``personal_data_id`` on the four append-only tables (case, record and binding events, the
  admin audit).
* ``case.erased_at`` (with a partial index for the purge's "closed before the cutoff, not
  erased") and ``subject.erased_at``: when the purge erased a case's statement, texts and files,
  and a subject's name and identifier.

Existing rows are moved once: every reason an actor wrote, and the personal values of each
row's data (``PERSONAL_KEYS`` below, a copy of ``app.models.personal`` as it is today), go to a
``personal_data`` row, and the audit row keeps ``[已清除]`` in their place with the pointer. The
audit tables are append-only, so for this one rewrite the migration lifts their guard and puts it
back before it ends, inside the migration's transaction (PostgreSQL: ``DISABLE``/``ENABLE
TRIGGER``; SQLite, which rebuilds the tables to add the column anyway: the triggers are dropped
and created again). Only the reason, data, before, after and pointer columns of those rows are
written; the rows' who, when, what and states are copied as they are. Reasons of events without
an actor were written by the jobs (fixed words of the platform) and stay. The rewrite reads the
tables in keyset pages of 1000 rows: on a large trail it takes a while, once.

Downgrade puts the personal values back into the audit rows (``[已清除]`` where the purge
erased them) and drops the table and columns.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

ERASED = "[已清除]"
PERSONAL_KEYS = frozenset({
    "facts", "sanction", "statement", "reason", "name", "display_name", "claimed_name", "given_name",
    "known_name", "kept_name", "username", "email", "files", "filename",
})
PAGE = 1000
# Each append-only table with its JSON columns (as kept on the row, as named in the body).
AUDIT_TABLES = {
    "case_event": ("data",),
    "record_event": ("data",),
    "binding_event": ("data",),
    "admin_audit": ("before", "after"),
}
NOT_ERASED = sa.text("erased_at IS NULL")


def _present(value) -> bool:
    return value not in (None, "", [], {})


def _split(value):
    if not isinstance(value, dict):
        return value, None
    kept, personal = {}, {}
    for key, item in value.items():
        if key in PERSONAL_KEYS and _present(item):
            kept[key], personal[key] = ERASED, item
        else:
            kept[key], inner = _split(item)
            if inner:
                personal[key] = inner
    return kept, personal or None


def _merge(kept, personal):
    if personal is None:
        return kept
    if not isinstance(kept, dict) or not isinstance(personal, dict):
        return personal if kept == ERASED else kept
    return {key: _merge(item, personal.get(key)) for key, item in kept.items()}


def _lift_guard(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def _restore_guard(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _table(name: str) -> sa.Table:
    columns = [sa.Column("id", sa.Integer, primary_key=True), sa.Column("personal_data_id", sa.Integer)]
    columns += [sa.Column(c, sa.JSON) for c in AUDIT_TABLES[name]]
    if name != "admin_audit":
        columns += [sa.Column("reason", sa.Text), sa.Column("actor_id", sa.Integer),
                    sa.Column("at", app.models.base.UTCDateTime(timezone=True))]
    else:
        columns += [sa.Column("at", app.models.base.UTCDateTime(timezone=True))]
    return sa.table(name, *columns)


_PERSONAL = sa.table(
    "personal_data", sa.column("id", sa.Integer), sa.column("body", sa.JSON),
    sa.column("created_at", app.models.base.UTCDateTime(timezone=True)),
)


def _pages(bind, table: sa.Table, where):
    after = 0
    while True:
        rows = bind.execute(sa.select(table).where(where, table.c.id > after).order_by(table.c.id).limit(PAGE)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _move_out(name: str) -> int:
    """The personal values of every row of ``name`` into ``personal_data``; how many rows moved."""
    bind, table = op.get_bind(), _table(name)
    json_columns = AUDIT_TABLES[name]
    has_reason = "reason" in table.c
    written = sa.or_(*(table.c[c].isnot(None) for c in json_columns),
                     *((table.c.reason.isnot(None),) if has_reason else ()))
    moved = 0
    for rows in _pages(bind, table, written):
        for row in rows:
            values, body = {}, {}
            if has_reason and row.actor_id is not None and _present(row.reason):
                values["reason"], body["reason"] = ERASED, row.reason
            for column in json_columns:
                kept, part = _split(getattr(row, column))
                if part:
                    values[column], body["data" if column == "data" else column] = kept, part
            if not body:
                continue
            pointer = bind.execute(
                sa.insert(_PERSONAL).values(body=body, created_at=row.at).returning(_PERSONAL.c.id)).scalar_one()
            bind.execute(sa.update(table).where(table.c.id == row.id).values(personal_data_id=pointer, **values))
            moved += 1
    return moved


def _move_back(name: str) -> None:
    bind, table = op.get_bind(), _table(name)
    personal = sa.table("personal_data", sa.column("id", sa.Integer), sa.column("body", sa.JSON))
    for rows in _pages(bind, table, table.c.personal_data_id.isnot(None)):
        bodies = dict(bind.execute(sa.select(personal.c.id, personal.c.body)
                                   .where(personal.c.id.in_([r.personal_data_id for r in rows]))).all())
        for row in rows:
            body = bodies.get(row.personal_data_id) or {}
            values = {c: _merge(getattr(row, c), body.get("data" if c == "data" else c))
                      for c in AUDIT_TABLES[name]}
            if "reason" in table.c:
                values["reason"] = _merge(row.reason, body.get("reason"))
            bind.execute(sa.update(table).where(table.c.id == row.id).values(personal_data_id=None, **values))


def upgrade():
    op.create_table(
        "personal_data",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data")),
    )
    for name in AUDIT_TABLES:
        _lift_guard(name)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("personal_data_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f"fk_{name}_personal_data_id_personal_data", "personal_data",
                                        ["personal_data_id"], ["id"])
        _move_out(name)
        _restore_guard(name)
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_case_closed_at_not_erased", ["closed_at"], unique=False,
                              postgresql_where=NOT_ERASED, sqlite_where=NOT_ERASED)
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", app.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_closed_at_not_erased", postgresql_where=NOT_ERASED, sqlite_where=NOT_ERASED)
        batch_op.drop_column("erased_at")
    for name in AUDIT_TABLES:
        _lift_guard(name)
        _move_back(name)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{name}_personal_data_id_personal_data", type_="foreignkey")
            batch_op.drop_column("personal_data_id")
        _restore_guard(name)
    op.drop_table("personal_data")
