"""One case where there should be one: one open objection and one open repair per record and
subject (a partial unique index), and the one-time form token that makes a submission idempotent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

"Open" is "not done": ``closed_at`` is set exactly when a case reaches a done state and cleared
when it leaves one (``apply_transition``), so the index holds the cases still to be decided.
Duplicates filed before this revision must be settled by the officers (not accepted or withdrawn)
first: the upgrade names them and stops rather than closing an applicant's case without a word.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ONE_OPEN_PER_RECORD = sa.text("closed_at IS NULL AND kind IN ('objection', 'repair')")


def upgrade():
    duplicates = op.get_bind().execute(sa.text(
        "SELECT record_id, kind, subject_id, count(*) FROM \"case\" "
        "WHERE closed_at IS NULL AND kind IN ('objection', 'repair') "
        "GROUP BY record_id, kind, subject_id HAVING count(*) > 1"
    )).all()
    if duplicates:
        raise RuntimeError(
            "open duplicate cases (record_id, kind, subject_id, count) must be settled before this upgrade: "
            + ", ".join(str(tuple(row)) for row in duplicates)
        )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_case_form_token_hash", ["form_token_hash"])
        batch_op.create_index(
            "uq_case_one_open_per_record", ["record_id", "kind", "subject_id"], unique=True,
            postgresql_where=ONE_OPEN_PER_RECORD, sqlite_where=ONE_OPEN_PER_RECORD,
        )


def downgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("uq_case_one_open_per_record")
        batch_op.drop_constraint("uq_case_form_token_hash", type_="unique")
        batch_op.drop_column("form_token_hash")
