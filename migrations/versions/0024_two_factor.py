"""Two factors for staff (issue 13): officers, supervisors, department users and admins sign in
with a password and a TOTP code (RFC 6238), as OWASP ASVS level 2 and GB/T 22239-2019 level 3 ask.

- ``two_factor``: a user's authenticator, its secret encrypted, ``enabled_at`` once a first code
  confirmed it, ``last_time_step`` so that a code is accepted once;
- ``two_factor_recovery_code``: ten single-use codes for a lost authenticator, salted SHA-256 only;
- ``two_factor_challenge``: a sign-in waiting for its code, so that wrong codes are counted on the
  server (a replayed cookie cannot reset them), the wait expires, and sign-ins whose codes were all
  wrong make the next one wait longer.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "two_factor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enabled_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_time_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_two_factor_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_factor")),
        sa.UniqueConstraint("user_id", name=op.f("uq_two_factor_user_id")),
    )
    op.create_table(
        "two_factor_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_two_factor_recovery_code_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_factor_recovery_code")),
    )
    op.create_index(op.f("ix_two_factor_recovery_code_user_id"), "two_factor_recovery_code", ["user_id"])
    op.create_table(
        "two_factor_challenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ended_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_in_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('code', 'enrol')", name=op.f("ck_two_factor_challenge_purpose_allowed")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_two_factor_challenge_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_factor_challenge")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_two_factor_challenge_token_hash")),
    )
    op.create_index(op.f("ix_two_factor_challenge_user_id"), "two_factor_challenge", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_two_factor_challenge_user_id"), table_name="two_factor_challenge")
    op.drop_table("two_factor_challenge")
    op.drop_index(op.f("ix_two_factor_recovery_code_user_id"), table_name="two_factor_recovery_code")
    op.drop_table("two_factor_recovery_code")
    op.drop_table("two_factor")
