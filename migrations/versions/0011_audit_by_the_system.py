"""Admin audit rows without a user: changes made from the command line (the operator, not an admin
account), such as a calendar import, are audited as the system.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER admin_audit_no_{action.lower()} BEFORE {action} ON admin_audit "
    "BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END"
    for action in ("UPDATE", "DELETE")
]


def _alter(nullable: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("admin_audit", "actor_id", existing_type=sa.Integer(), nullable=nullable)
        return
    # SQLite rebuilds the table to change a column, and the copy would lose the append-only
    # triggers: drop them first, put them back on the new table.
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS admin_audit_no_{action}")
    with op.batch_alter_table("admin_audit", schema=None) as batch_op:
        batch_op.alter_column("actor_id", existing_type=sa.Integer(), nullable=nullable)
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade():
    _alter(nullable=True)


def downgrade():
    # Rows audited as the system have no admin to fall back on: they block the downgrade,
    # which then fails loudly rather than inventing an author.
    _alter(nullable=False)
