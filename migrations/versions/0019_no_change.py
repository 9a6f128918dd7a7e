"""No schema change: the number was taken for the set-based SLA sweep (issue 16), which needed
none; kept so that the revisions stay numbered in sequence.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
