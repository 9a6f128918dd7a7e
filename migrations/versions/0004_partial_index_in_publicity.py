"""Partial index on the publicity end of records in publicity, for the expiry sweep.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

The composite (state, publicity_end) index made every batch of a large catch-up scan past the
records retired by the batches before it; the partial index holds only records in publicity.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

IN_PUBLICITY = sa.text("state IN ('published', 'corrected')")


def upgrade():
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_record_state_publicity_end")
        batch_op.create_index(
            "ix_credit_record_in_publicity_end", ["publicity_end"], unique=False,
            postgresql_where=IN_PUBLICITY, sqlite_where=IN_PUBLICITY,
        )


def downgrade():
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_record_in_publicity_end")
        batch_op.create_index("ix_credit_record_state_publicity_end", ["state", "publicity_end"], unique=False)
