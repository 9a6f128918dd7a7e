"""Placeholder for issue 13 (two factor): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
