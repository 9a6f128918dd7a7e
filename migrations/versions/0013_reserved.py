"""Reserved: filled in by the work in progress (rename this file when it is).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
