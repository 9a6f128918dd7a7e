"""Placeholder for issue 15 (letters): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02
"""
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
