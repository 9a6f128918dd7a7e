"""Job leases that end soon after their holder dies, skips that show, run-now through the scheduler (issue 17).

* ``job_run``: ``heartbeat_at`` (the holder of a running job was alive then: its lease renewal
  writes it every few seconds), ``last_skipped_at`` and ``skips`` (runs that found the job held
  elsewhere), ``requested_at`` and ``requested_by_id`` (an admin's "run now", waiting for the
  scheduler; cleared when a run starts).
* ``scheduler_process``: one row per scheduler process, ``seen_at`` written every few seconds
  while it lives (the readiness check reads it).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_skipped_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("skips", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("requested_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("requested_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_job_run_requested_by_id_user_account"), "user_account",
                                    ["requested_by_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "scheduler_process",
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("started_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_scheduler_process")),
    )


def downgrade():
    op.drop_table("scheduler_process")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_job_run_requested_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("requested_by_id")
        batch_op.drop_column("requested_at")
        batch_op.drop_column("skips")
        batch_op.drop_column("last_skipped_at")
        batch_op.drop_column("heartbeat_at")
