"""Policy recompute off the web request (issue 16, item 2): ``recompute_run``, the queue the
scheduler reads and each run's progress (counters, the cursor of the last committed chunk, the
error); ``active`` (unique, NULL once the run ends) lets one run be queued or running at a time.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recompute_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("host", sa.String(length=120), nullable=True),
        sa.Column("records_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records_moved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cases_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cases_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cases_kept", sa.Integer(), server_default="0", nullable=False),
        sa.Column("timers_moved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("record_cursor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("case_cursor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_recompute_run_state_allowed")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["user_account.id"],
                                name=op.f("fk_recompute_run_requested_by_id_user_account")),
        sa.ForeignKeyConstraint(["version"], ["policy.version"], name=op.f("fk_recompute_run_version_policy")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recompute_run")),
        sa.UniqueConstraint("active", name=op.f("uq_recompute_run_active")),
    )


def downgrade():
    op.drop_table("recompute_run")
