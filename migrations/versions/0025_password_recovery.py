"""Placeholder for issue 13 (password recovery): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
