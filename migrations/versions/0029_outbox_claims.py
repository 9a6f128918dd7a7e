"""Outbox claims that belong to a dispatcher (issue 17, item 3).

* ``notification.claimed_by``: the token of the dispatcher run that holds the notice, NULL when
  no one does. Each run has a token of its own; the run writes an outcome only where it still
  holds the claim.
* ``notification.claimed_until``: until when the claim holds. The run extends it while it works
  (a heartbeat) and re-asserts it just before each message; a claim left to lapse (its holder
  died) may be taken by another run.

Rows a dispatcher of the previous version had claimed (``sending``) carry neither and are due
again when their ``next_attempt_at`` passes, as before.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notification", sa.Column("claimed_by", sa.String(length=32), nullable=True))
    op.add_column("notification", sa.Column("claimed_until", app.models.base.UTCDateTime(timezone=True), nullable=True))
    # The heartbeat and the outcome look rows up by their claim: few at a time among many sent.
    op.create_index("ix_notification_claimed_by", "notification", ["claimed_by"])


def downgrade():
    op.drop_index("ix_notification_claimed_by", table_name="notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
