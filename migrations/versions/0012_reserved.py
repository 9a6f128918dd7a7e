"""Reserved: filled in by the work in progress (rename this file when it is).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
