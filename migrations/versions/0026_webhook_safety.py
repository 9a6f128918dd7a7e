"""Admin audit rows made with an API key: a department's webhook subscriptions changed through the
API are audited like an admin's, with the key that made them (issue 13). The column is nullable:
every earlier row, and every change made by an admin, has none.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER admin_audit_no_{action.lower()} BEFORE {action} ON admin_audit "
    "BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END"
    for action in ("UPDATE", "DELETE")
]


def _sqlite_rebuild(change) -> None:
    """SQLite rebuilds the table to add a foreign key, and the copy would lose the append-only
    triggers: drop them first, put them back on the new table (as 0011 does)."""
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS admin_audit_no_{action}")
    with op.batch_alter_table("admin_audit", schema=None, recreate="always") as batch_op:
        change(batch_op)
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)


def _add(batch_op) -> None:
    batch_op.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
    batch_op.create_foreign_key(batch_op.f("fk_admin_audit_api_key_id_api_key"), "api_key", ["api_key_id"], ["id"])
    batch_op.create_index(batch_op.f("ix_admin_audit_api_key_id"), ["api_key_id"], unique=False)


def _drop(batch_op) -> None:
    batch_op.drop_index(batch_op.f("ix_admin_audit_api_key_id"))
    batch_op.drop_constraint(batch_op.f("fk_admin_audit_api_key_id_api_key"), type_="foreignkey")
    batch_op.drop_column("api_key_id")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Adding a column is no UPDATE: the append-only trigger stays as it is.
        with op.batch_alter_table("admin_audit", schema=None) as batch_op:
            _add(batch_op)
    else:
        _sqlite_rebuild(_add)


def downgrade():
    # The keys of API-made rows are lost; the rows themselves stay (the system as their actor).
    if op.get_bind().dialect.name == "postgresql":
        with op.batch_alter_table("admin_audit", schema=None) as batch_op:
            _drop(batch_op)
    else:
        _sqlite_rebuild(_drop)
