"""Public statistics computed by the scheduler (issue 16, "every page cheap"): ``statistics_snapshot``,
the report as the public page shows it (its schema, when it was computed, the tables as JSON).
The page reads the newest of its schema, one indexed row, instead of every event of two years;
the job that writes a snapshot keeps the last few.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "statistics_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("schema", sa.String(length=40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_snapshot")),
    )
    op.create_index("ix_statistics_snapshot_schema_id", "statistics_snapshot", ["schema", "id"], unique=False)


def downgrade():
    op.drop_index("ix_statistics_snapshot_schema_id", table_name="statistics_snapshot")
    op.drop_table("statistics_snapshot")
