"""Record imports off the web request (issue 13, item 6): ``import_run``, the queue of uploaded
files the scheduler imports and each run's progress (rows read, errors, imported), its report
and where its upload waits (``stored_name``, NULL once deleted). A large file no longer ties up
a web worker for a minute; the department's page follows the run.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=True),
        sa.Column("size_bytes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locale", sa.String(length=10), server_default="zh_CN", nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("requested_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("host", sa.String(length=120), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("corrected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'refused', 'failed')",
                           name=op.f("ck_import_run_state_allowed")),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_import_run_department_id_department")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["user_account.id"],
                                name=op.f("fk_import_run_requested_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    op.create_index("ix_import_run_department_id_id", "import_run", ["department_id", "id"], unique=False)
    op.create_index("ix_import_run_state", "import_run", ["state"], unique=False)


def downgrade():
    op.drop_index("ix_import_run_state", table_name="import_run")
    op.drop_index("ix_import_run_department_id_id", table_name="import_run")
    op.drop_table("import_run")
