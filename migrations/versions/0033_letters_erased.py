"""Letters erased with their case (issue 15; DESIGN section 9): a letter's PDF names the
applicant and states the facts, so the retention purge that erases a case's texts and files
blanks its letters' bytes too (``pdf`` NULL, ``erased_at`` set). The number, kind, date and
outcome stay, as the public verification page shows them and the register of documents keeps them.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column("pdf", existing_type=sa.LargeBinary(), nullable=True)
        batch_op.create_check_constraint(op.f("ck_letter_pdf_or_erased"), "pdf IS NOT NULL OR erased_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_letter_pdf_or_erased"), type_="check")
        batch_op.alter_column("pdf", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("erased_at")
