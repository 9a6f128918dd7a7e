"""One expiry digest per department per run (issue 16, item 6): the runs of the expiry job, and
``credit_record.retired_in_run``, the run that retired a record, which the digest's console page,
its CSV and the e-mail's attachment list. Records retired before have no run (their digests
named them as before).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "expiry_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expiry_run")),
    )
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_in_run", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_credit_record_retired_in_run_expiry_run"), "expiry_run",
                                    ["retired_in_run"], ["id"])
        batch_op.create_index("ix_credit_record_retired_in_run", ["retired_in_run", "department_id", "id"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_record_retired_in_run")
        batch_op.drop_constraint(batch_op.f("fk_credit_record_retired_in_run_expiry_run"), type_="foreignkey")
        batch_op.drop_column("retired_in_run")
    op.drop_table("expiry_run")
