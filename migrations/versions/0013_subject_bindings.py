"""Subject bindings (issue 12): an account acts for a subject only once verified.

Accounts bound to a subject before verification existed keep their access: each gets a
binding "verified by migration", with its event in the binding's append-only history (the
audit trail says who was let through this way, so an officer can check them later).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TYPES = "('application/pdf', 'image/jpeg', 'image/png')"


def upgrade():
    op.create_table(
        "subject_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=True),
        sa.Column("claimed_name", sa.String(length=200), nullable=False),
        sa.Column("due_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_soon_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("capacity IN ('self', 'legal_representative', 'agent')",
                           name=op.f("ck_subject_binding_capacity_allowed")),
        sa.CheckConstraint("method IN ('officer', 'oidc', 'migration', 'demo')",
                           name=op.f("ck_subject_binding_method_allowed")),
        sa.CheckConstraint("verified_at IS NULL OR method IS NOT NULL",
                           name=op.f("ck_subject_binding_verified_has_method")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_subject_binding_user_id_user_account")),
        sa.ForeignKeyConstraint(["subject_id"], ["subject.id"], name=op.f("fk_subject_binding_subject_id_subject")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["user_account.id"],
                                name=op.f("fk_subject_binding_reviewer_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_binding")),
    )
    op.create_index("ix_subject_binding_state_due_at", "subject_binding", ["state", "due_at"])
    op.create_index("ix_subject_binding_subject_state", "subject_binding", ["subject_id", "state"])
    op.create_index(op.f("ix_subject_binding_user_id"), "subject_binding", ["user_id"])

    op.create_table(
        "binding_event",
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["user_account.id"], name=op.f("fk_binding_event_actor_id_user_account")),
        sa.ForeignKeyConstraint(["binding_id"], ["subject_binding.id"],
                                name=op.f("fk_binding_event_binding_id_subject_binding")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_event")),
        sa.UniqueConstraint("binding_id", "seq", name=op.f("uq_binding_event_binding_id_seq")),
    )
    op.create_index(op.f("ix_binding_event_binding_id"), "binding_event", ["binding_id"])
    _make_append_only("binding_event")

    op.create_table(
        "binding_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('business_licence', 'identity_card', 'authorisation_letter')",
                           name=op.f("ck_binding_document_kind_allowed")),
        sa.CheckConstraint(f"content_type IN {_TYPES}", name=op.f("ck_binding_document_content_type_allowed")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_binding_document_size_positive")),
        sa.ForeignKeyConstraint(["binding_id"], ["subject_binding.id"],
                                name=op.f("fk_binding_document_binding_id_subject_binding")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["user_account.id"],
                                name=op.f("fk_binding_document_uploaded_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_document")),
    )
    op.create_index(op.f("ix_binding_document_binding_id"), "binding_document", ["binding_id"])
    _verify_bound_accounts()


def _verify_bound_accounts():
    """Today's bound applicants: verified by migration, each with its event (actor: the system)."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name != "postgresql":
        now = now.replace(tzinfo=None)  # as UTCDateTime stores it on SQLite
    bind.execute(sa.text(
        "INSERT INTO subject_binding (user_id, subject_id, capacity, state, method, claimed_name,"
        " created_at, verified_at, version)"
        " SELECT u.id, s.id, CASE WHEN s.kind = 'natural' THEN 'self' ELSE 'legal_representative' END,"
        " 'verified', 'migration', s.name, :now, :now, 1"
        " FROM user_account u JOIN subject s ON s.id = u.subject_id WHERE u.role = 'applicant'"
    ), {"now": now})
    bind.execute(sa.text(
        "INSERT INTO binding_event (binding_id, seq, at, trigger, from_state, to_state, reason, actor_id)"
        " SELECT b.id, 1, :now, 'verify_by_migration', 'unverified', 'verified',"
        " 'bound before real-name verification existed (migration 0013)', NULL"
        " FROM subject_binding b WHERE b.method = 'migration'"
    ), {"now": now})


def downgrade():
    op.drop_index(op.f("ix_binding_document_binding_id"), table_name="binding_document")
    op.drop_table("binding_document")
    _drop_append_only("binding_event")
    op.drop_index(op.f("ix_binding_event_binding_id"), table_name="binding_event")
    op.drop_table("binding_event")
    op.drop_index(op.f("ix_subject_binding_user_id"), table_name="subject_binding")
    op.drop_index("ix_subject_binding_subject_state", table_name="subject_binding")
    op.drop_index("ix_subject_binding_state_due_at", table_name="subject_binding")
    op.drop_table("subject_binding")


def _make_append_only(table):
    if op.get_bind().dialect.name == "postgresql":
        # refuse_audit_change() was created by 0001 for the other audit tables.
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _drop_append_only(table):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
