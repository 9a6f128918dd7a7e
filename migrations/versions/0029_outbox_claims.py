"""Placeholder for issue 17 (outbox claims): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02
"""
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
