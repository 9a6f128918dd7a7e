"""Placeholder for issue 13 (webhook safety): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02
"""
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
