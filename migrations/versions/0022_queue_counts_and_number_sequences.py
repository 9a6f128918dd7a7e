"""Queue counts kept by delta, and case numbers that do not make writers wait (issue 16, items 4-5).

* ``queue_count``: cases per kind, state and assignee (0: nobody), in a few shard rows per
  queue; filled here from the cases (``recount_queues`` does the same later).
* ``ix_case_open_due_at``: the deadlines of open cases only, for the overdue and due-soon
  counts per queue (a range scan over the cases past their deadline, not over every case).
* PostgreSQL: one sequence per kind and year, ``case_number_<kind>_<year>``, continuing from
  the counter rows handed out so far (later years are created when their first case comes).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

OPEN_WITH_DEADLINE = sa.text("closed_at IS NULL AND due_at IS NOT NULL")


def upgrade():
    op.create_table(
        "queue_count",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("assignee_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "state", "assignee_id", "shard", name=op.f("pk_queue_count")),
    )
    op.execute(
        'INSERT INTO queue_count (kind, state, assignee_id, shard, n) '
        'SELECT kind, state, coalesce(assignee_id, 0), 0, count(*) FROM "case" '
        'GROUP BY kind, state, coalesce(assignee_id, 0)'
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_open_due_at", ["due_at", "kind", "state"], unique=False,
                              postgresql_where=OPEN_WITH_DEADLINE, sqlite_where=OPEN_WITH_DEADLINE)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for kind, year, last in bind.execute(sa.text("SELECT kind, year, last FROM case_number_counter")):
            op.execute(f"CREATE SEQUENCE IF NOT EXISTS case_number_{kind}_{int(year)} START {int(last) + 1}")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Back to the counter rows: each continues from its sequence's last value.
        sequences = bind.execute(sa.text(
            "SELECT sequencename, last_value FROM pg_sequences WHERE sequencename LIKE 'case\\_number\\_%'"
        )).all()
        for name, last in sequences:
            kind, year = name.removeprefix("case_number_").rsplit("_", 1)
            if last is not None:
                bind.execute(sa.text(
                    "INSERT INTO case_number_counter (kind, year, last) VALUES (:k, :y, :n) "
                    "ON CONFLICT (kind, year) DO UPDATE SET last = greatest(case_number_counter.last, :n)"
                ), {"k": kind, "y": int(year), "n": last})
            op.execute(f"DROP SEQUENCE {name}")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_open_due_at", postgresql_where=OPEN_WITH_DEADLINE,
                            sqlite_where=OPEN_WITH_DEADLINE)
    op.drop_table("queue_count")
