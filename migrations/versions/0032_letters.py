"""Letters (issue 15): ``letter``, the numbered PDF notices that a case's steps issue, stored once
with their SHA-256 and the hash of their public verification code; ``letter_number_counter``, the
last number given per kind and year.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

# The kinds as they are today (workflows.LetterKind): migrations are history.
KINDS = ("acceptance", "non_acceptance", "supplement_request", "objection_decision", "repair_approval",
         "repair_refusal", "complaint_reply")
KIND_ALLOWED = "kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")"


def upgrade():
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("trigger", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("case_version", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("issued_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(KIND_ALLOWED, name=op.f("ck_letter_kind_allowed")),
        sa.CheckConstraint("seq > 0", name=op.f("ck_letter_seq_positive")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_letter_size_positive")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_letter_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_letter_code_hash")),
        sa.UniqueConstraint("kind", "year", "seq", name=op.f("uq_letter_kind_year_seq")),
        sa.UniqueConstraint("number", name=op.f("uq_letter_number")),
    )
    op.create_index("ix_letter_case_id", "letter", ["case_id"], unique=False)
    op.create_table(
        "letter_number_counter",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.CheckConstraint(KIND_ALLOWED, name=op.f("ck_letter_number_counter_kind_allowed")),
        sa.PrimaryKeyConstraint("kind", "year", name=op.f("pk_letter_number_counter")),
    )


def downgrade():
    op.drop_table("letter_number_counter")
    op.drop_index("ix_letter_case_id", table_name="letter")
    op.drop_table("letter")
