"""Sign-in with an identity provider (issue 12, OpenID Connect): the provider's account an
account signs in with, ``user_account.oidc_issuer`` and ``oidc_subject`` (its ``sub``), unique
together; both empty for the accounts that sign in with a password.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_issuer", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_user_account_oidc_issuer_oidc_subject"),
                                          ["oidc_issuer", "oidc_subject"])


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_user_account_oidc_issuer_oidc_subject"), type_="unique")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("oidc_issuer")
