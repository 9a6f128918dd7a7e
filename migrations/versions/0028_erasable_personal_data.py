"""Placeholder for issue 13 (erasable personal data): reserved so that parallel work keeps the numbers in sequence.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02
"""
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
