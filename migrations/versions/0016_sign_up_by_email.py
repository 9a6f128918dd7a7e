"""Sign-up tells nothing (issue 12): new accounts sign in with their e-mail address, confirmed by a link.

- ``sign_up_request``: a sign-up waiting for its link (the SHA-256 of the token), nothing else exists yet;
- ``notification.recipient_address``: an e-mail to an address with no account behind it, allowed by
  ``has_recipient`` for the e-mail channel only;
- ``user_account.username`` and ``sign_in_attempt.username`` hold an e-mail address (254 characters).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_OLD_RECIPIENT = "recipient_user_id IS NOT NULL OR recipient_department_id IS NOT NULL"
_NEW_RECIPIENT = _OLD_RECIPIENT + " OR (recipient_address IS NOT NULL AND channel = 'email')"


def upgrade():
    op.create_table(
        "sign_up_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("identifier_kind", sa.String(length=10), nullable=False),
        sa.Column("identifier", sa.String(length=18), nullable=False),
        sa.Column("claimed_name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("identifier_kind IN ('legal', 'natural')",
                           name=op.f("ck_sign_up_request_identifier_kind_allowed")),
        sa.CheckConstraint("user_id IS NULL OR used_at IS NOT NULL", name=op.f("ck_sign_up_request_account_means_used")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_sign_up_request_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_up_request")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_up_request_token_hash")),
    )
    op.create_index("ix_sign_up_request_email_created_at", "sign_up_request", ["email", "created_at"])

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient_address", sa.String(length=254), nullable=True))
        batch_op.drop_constraint(op.f("ck_notification_has_recipient"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notification_has_recipient"), _NEW_RECIPIENT)

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column("username", existing_type=sa.String(length=64), type_=sa.String(length=254),
                              existing_nullable=False)
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.alter_column("username", existing_type=sa.String(length=64), type_=sa.String(length=254),
                              existing_nullable=False)


def downgrade():
    # Names longer than 64 characters (e-mail addresses) do not fit the old columns: refuse, do not cut.
    too_long = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM user_account WHERE length(username) > 64")).scalar()
    if too_long:
        raise RuntimeError(f"{too_long} accounts have user names longer than 64 characters; rename them first")
    op.execute("DELETE FROM sign_in_attempt WHERE length(username) > 64")
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.alter_column("username", existing_type=sa.String(length=254), type_=sa.String(length=64),
                              existing_nullable=False)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column("username", existing_type=sa.String(length=254), type_=sa.String(length=64),
                              existing_nullable=False)

    op.execute("DELETE FROM notification WHERE recipient_address IS NOT NULL "
               "AND recipient_user_id IS NULL AND recipient_department_id IS NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_has_recipient"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notification_has_recipient"), _OLD_RECIPIENT)
        batch_op.drop_column("recipient_address")

    op.drop_index("ix_sign_up_request_email_created_at", table_name="sign_up_request")
    op.drop_table("sign_up_request")
