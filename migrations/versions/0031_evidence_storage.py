"""Placeholder for issue 17 (evidence storage): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02
"""
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
