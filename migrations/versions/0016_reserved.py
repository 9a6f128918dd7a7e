"""Reserved: filled in by the work in progress (rename this file when it is).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
