"""Whose word a subject's name is, and names that disagree (issue 12).

- ``subject.name_source``: ``department`` (a record's), ``verified`` (an officer's check or the
  identity service's claims) or ``claimed`` (typed at sign-up). Subjects that no department has
  provided a record about were created by a sign-up: their names are claimed.
- ``subject_name_mismatch``: a name given for a known subject that differs from the platform's,
  kept beside it for an officer to decide.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_source", sa.String(length=12), server_default="department",
                                      nullable=False))
        batch_op.create_check_constraint("name_source_allowed",
                                         "name_source IN ('department', 'verified', 'claimed')")
    op.execute("UPDATE subject SET name_source = 'claimed' "
               "WHERE NOT EXISTS (SELECT 1 FROM credit_record r WHERE r.subject_id = subject.id)")

    op.create_table(
        "subject_name_mismatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("known_name", sa.String(length=200), nullable=False),
        sa.Column("given_name", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("kept_name", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint("origin IN ('department', 'officer', 'oidc')",
                           name=op.f("ck_subject_name_mismatch_origin_allowed")),
        sa.ForeignKeyConstraint(["subject_id"], ["subject.id"], name=op.f("fk_subject_name_mismatch_subject_id_subject")),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"],
                                name=op.f("fk_subject_name_mismatch_department_id_department")),
        sa.ForeignKeyConstraint(["record_id"], ["credit_record.id"],
                                name=op.f("fk_subject_name_mismatch_record_id_credit_record")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["user_account.id"],
                                name=op.f("fk_subject_name_mismatch_resolved_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_name_mismatch")),
    )
    op.create_index(op.f("ix_subject_name_mismatch_subject_id"), "subject_name_mismatch", ["subject_id"])
    op.create_index("ix_subject_name_mismatch_open", "subject_name_mismatch", ["resolved_at", "raised_at"])


def downgrade():
    op.drop_index("ix_subject_name_mismatch_open", table_name="subject_name_mismatch")
    op.drop_index(op.f("ix_subject_name_mismatch_subject_id"), table_name="subject_name_mismatch")
    op.drop_table("subject_name_mismatch")
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.drop_constraint("name_source_allowed", type_="check")
        batch_op.drop_column("name_source")
