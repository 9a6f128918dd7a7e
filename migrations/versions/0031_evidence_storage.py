"""Evidence storage shared by every host (issue 17, item 2): ``stored_blob``, the files kept in
the database itself when ``STORAGE_BACKEND = "database"`` (app/services/uploads).

``name`` is an evidence file's or identity document's SHA-256 (hex), or ``imports/<stored_name>``
for a queued import's upload; ``created_at`` the last time the bytes were stored. Nothing is
moved here: the files of an existing ``UPLOAD_DIR`` are copied with ``flask storage copy-local``.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stored_blob",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stored_blob")),
    )


def downgrade():
    op.drop_table("stored_blob")
