"""Records remember whether they were provided after the publication deadline.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_late", sa.Boolean(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_column("published_late")
