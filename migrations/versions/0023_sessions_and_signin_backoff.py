"""Sessions you can end, and a sign-in back-off instead of a lock-out (issue 13).

- ``user_session``: every signed-in session, kept on the server and checked on every request
  (the cookie carries a random id, the row its SHA-256), so signing out, a new password, a
  deactivation or a role change ends it for real, and its idle and absolute lifetimes hold
  whatever the cookie says;
- ``sign_in_attempt.device``: the SHA-256 of the browser's device cookie, when it had one for the
  name: a known device's failures are counted apart from everybody else's, so guessing from
  elsewhere does not slow the account's owner down.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("strength", sa.String(length=12), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("ended_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_user_session_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    op.create_index("ix_user_session_user_id_ended_at", "user_session", ["user_id", "ended_at"])
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.drop_column("device")
    op.drop_index("ix_user_session_user_id_ended_at", table_name="user_session")
    op.drop_table("user_session")
