"""Rest-day shift of calendar-day deadlines, a record's running measure, a complaint about a case.

- ``timer.rest_day_shift``: the days a calendar-day deadline was moved past rest days
  (民法典 art. 203), so a pause, an extension or a policy change counts from the period's own end.
- ``credit_record.measure_until``: the last day of a blocking measure (e.g. a business restriction)
  the decision imposes; repair is refused while it runs.
- ``case.about_case_id``: the case whose handling a complaint is about.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rest_day_shift", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measure_until", sa.Date(), nullable=True))
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about_case_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_case_about_case_id_case", "case", ["about_case_id"], ["id"])


def downgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_about_case_id_case", type_="foreignkey")
        batch_op.drop_column("about_case_id")
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_column("measure_until")
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.drop_column("rest_day_shift")
