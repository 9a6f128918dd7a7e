"""Placeholder for issue 17 (job leases): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02
"""
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
