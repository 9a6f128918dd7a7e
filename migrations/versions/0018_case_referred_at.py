"""When a case was put before its department (issue 12): departments see a case only from then on.

``case.referred_at`` is set by the transitions marked ``refers`` in the workflows (an objection
referred, a repair's opinion requested, a complaint handed to the department). Cases already
referred get the time of their first such event; a complaint assigned to an officer (the event
names an ``assignee_id``) was never put before its department.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referred_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
    op.execute("""
        UPDATE "case" SET referred_at = (
            SELECT min(e.at) FROM case_event e
            WHERE e.case_id = "case".id AND (
                (e.trigger = 'refer' AND "case".kind = 'objection')
                OR (e.trigger = 'ask_department' AND "case".kind = 'repair')
                OR (e.trigger = 'assign' AND "case".kind = 'complaint'
                    AND (e.data IS NULL OR CAST(e.data AS TEXT) NOT LIKE '%assignee_id%'))))
        WHERE "case".department_id IS NOT NULL
    """)


def downgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("referred_at")
