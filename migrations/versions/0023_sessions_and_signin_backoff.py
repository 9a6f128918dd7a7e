"""Placeholder for issue 13 (sessions and signin backoff): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
