"""Index (due_at, id) on cases, for the officer queue's keyset pages.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_due_at_id", ["due_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_due_at_id")
