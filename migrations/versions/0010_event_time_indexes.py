"""Indexes (at, id) on the case and record events, for the admin audit log's newest-first pages.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_case_event_at_id", "case_event", ["at", "id"])
    op.create_index("ix_record_event_at_id", "record_event", ["at", "id"])


def downgrade():
    op.drop_index("ix_record_event_at_id", table_name="record_event")
    op.drop_index("ix_case_event_at_id", table_name="case_event")
