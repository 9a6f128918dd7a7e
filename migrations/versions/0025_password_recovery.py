"""Password links the user asks for, and links whose token is minted when their mail is sent (issue 13).

- ``password_reset.created_by_id`` may be empty: the user asked for the link ("Forgot
  password?" on the sign-in page), no admin did.
- ``password_reset.token_hash`` may be empty: a link that goes by e-mail has no token until
  the dispatcher sends the mail and mints one, so the outbox never holds a usable token.

Downgrading deletes the links that could not exist before (asked for by users, or not yet minted).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("password_reset", schema=None) as batch_op:
        batch_op.alter_column("created_by_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("token_hash", existing_type=sa.String(length=64), nullable=True)


def downgrade():
    op.execute("DELETE FROM password_reset WHERE created_by_id IS NULL OR token_hash IS NULL")
    with op.batch_alter_table("password_reset", schema=None) as batch_op:
        batch_op.alter_column("token_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("created_by_id", existing_type=sa.Integer(), nullable=False)
