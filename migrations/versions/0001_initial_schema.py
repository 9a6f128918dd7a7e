"""Initial schema: organisations, accounts, records, cases, audit, timers, outbox, calendar, policy.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
import app.models.base

APPEND_ONLY_TABLES = ("case_event", "record_event")


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_number_counter',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('objection', 'complaint', 'repair')", name=op.f('ck_case_number_counter_kind_allowed')),
    sa.PrimaryKeyConstraint('kind', 'year', name=op.f('pk_case_number_counter'))
    )
    op.create_table('department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
    sa.UniqueConstraint('code', name=op.f('uq_department_code'))
    )
    op.create_table('sign_in_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempt'))
    )
    with op.batch_alter_table('sign_in_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_attempt_address_at', ['address', 'at'], unique=False)
        batch_op.create_index('ix_sign_in_attempt_username_at', ['username', 'at'], unique=False)

    op.create_table('subject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('identifier', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind = 'natural' OR birth_date IS NULL", name=op.f('ck_subject_birth_date_only_natural')),
    sa.CheckConstraint("kind IN ('legal', 'natural')", name=op.f('ck_subject_kind_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject')),
    sa.UniqueConstraint('identifier', name=op.f('uq_subject_identifier'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_sign_in_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(role = 'applicant' AND subject_id IS NOT NULL AND department_id IS NULL) OR (role = 'department' AND department_id IS NOT NULL AND subject_id IS NULL) OR (role IN ('officer', 'supervisor', 'admin') AND subject_id IS NULL)", name=op.f('ck_user_account_binding_matches_role')),
    sa.CheckConstraint("role IN ('applicant', 'officer', 'department', 'supervisor', 'admin')", name=op.f('ck_user_account_role_allowed')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_user_account_department_id_department')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_user_account_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('username', name=op.f('uq_user_account_username'))
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_account_subject_id'), ['subject_id'], unique=False)

    op.create_table('calendar_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_calendar_override_kind_allowed')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_calendar_override_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_override')),
    sa.UniqueConstraint('day', name=op.f('uq_calendar_override_day'))
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient_user_id', sa.Integer(), nullable=True),
    sa.Column('recipient_department_id', sa.Integer(), nullable=True),
    sa.Column('template', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('inbox', 'email', 'webhook')", name=op.f('ck_notification_channel_allowed')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name=op.f('ck_notification_status_allowed')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_notification_attempts_not_negative')),
    sa.CheckConstraint('recipient_user_id IS NOT NULL OR recipient_department_id IS NOT NULL', name=op.f('ck_notification_has_recipient')),
    sa.ForeignKeyConstraint(['recipient_department_id'], ['department.id'], name=op.f('fk_notification_recipient_department_id_department')),
    sa.ForeignKeyConstraint(['recipient_user_id'], ['user_account.id'], name=op.f('fk_notification_recipient_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('key', name=op.f('uq_notification_key'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_recipient_department_id'), ['recipient_department_id'], unique=False)
        batch_op.create_index('ix_notification_recipient_user_read', ['recipient_user_id', 'read_at'], unique=False)
        batch_op.create_index('ix_notification_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_policy_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy')),
    sa.UniqueConstraint('version', name=op.f('uq_policy_version'))
    )
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_effective_from'), ['effective_from'], unique=False)

    op.create_table('credit_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('decision_number', sa.String(length=100), nullable=False),
    sa.Column('decision_date', sa.Date(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('sanction', sa.Text(), nullable=False),
    sa.Column('sanction_kinds', sa.JSON(), nullable=False),
    sa.Column('sector', sa.String(length=40), nullable=True),
    sa.Column('is_public', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('withheld_reason', sa.String(length=40), nullable=True),
    sa.Column('publicity_start', sa.Date(), nullable=False),
    sa.Column('shortest_publicity_end', sa.Date(), nullable=False),
    sa.Column('publicity_end', sa.Date(), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('under_objection', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('published_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('purged_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('administrative_penalty', 'serious_dishonesty_list', 'abnormal_operation_list', 'other')", name=op.f('ck_credit_record_category_allowed')),
    sa.CheckConstraint("severity IN ('minor', 'general', 'serious')", name=op.f('ck_credit_record_severity_allowed')),
    sa.CheckConstraint("state <> 'purged' OR purged_at IS NOT NULL", name=op.f('ck_credit_record_purged_has_time')),
    sa.CheckConstraint("state <> 'retired' OR retired_at IS NOT NULL", name=op.f('ck_credit_record_retired_has_time')),
    sa.CheckConstraint("state IN ('published', 'corrected', 'repaired', 'revoked', 'retired', 'purged')", name=op.f('ck_credit_record_state_allowed')),
    sa.CheckConstraint('is_public OR withheld_reason IS NOT NULL', name=op.f('ck_credit_record_withheld_has_reason')),
    sa.CheckConstraint('publicity_start <= shortest_publicity_end AND shortest_publicity_end <= publicity_end', name=op.f('ck_credit_record_dates_ordered')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_credit_record_department_id_department')),
    sa.ForeignKeyConstraint(['policy_version'], ['policy.version'], name=op.f('fk_credit_record_policy_version_policy')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_credit_record_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_record')),
    sa.UniqueConstraint('department_id', 'decision_number', name=op.f('uq_credit_record_department_id_decision_number'))
    )
    with op.batch_alter_table('credit_record', schema=None) as batch_op:
        batch_op.create_index('ix_credit_record_department_state', ['department_id', 'state'], unique=False)
        batch_op.create_index('ix_credit_record_state_publicity_end', ['state', 'publicity_end'], unique=False)
        batch_op.create_index('ix_credit_record_subject_state', ['subject_id', 'state'], unique=False)

    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('outcome_reason', sa.Text(), nullable=True),
    sa.Column('due_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('submitted_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind = 'complaint' OR record_id IS NOT NULL", name=op.f('ck_case_record_required')),
    sa.CheckConstraint("kind IN ('objection', 'complaint', 'repair')", name=op.f('ck_case_kind_allowed')),
    sa.CheckConstraint('closed_at IS NULL OR closed_at >= submitted_at', name=op.f('ck_case_closed_after_submitted')),
    sa.ForeignKeyConstraint(['applicant_id'], ['user_account.id'], name=op.f('fk_case_applicant_id_user_account')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user_account.id'], name=op.f('fk_case_assignee_id_user_account')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_case_department_id_department')),
    sa.ForeignKeyConstraint(['policy_version'], ['policy.version'], name=op.f('fk_case_policy_version_policy')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_record.id'], name=op.f('fk_case_record_id_credit_record')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_case_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case')),
    sa.UniqueConstraint('number', name=op.f('uq_case_number'))
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index('ix_case_assignee_state', ['assignee_id', 'state'], unique=False)
        batch_op.create_index('ix_case_department_state', ['department_id', 'state'], unique=False)
        batch_op.create_index('ix_case_kind_state_due_at', ['kind', 'state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_record_id'), ['record_id'], unique=False)
        batch_op.create_index('ix_case_state_due_at', ['state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_subject_id'), ['subject_id'], unique=False)

    op.create_table('record_event',
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=30), nullable=True),
    sa.Column('to_state', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_record_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['record_id'], ['credit_record.id'], name=op.f('fk_record_event_record_id_credit_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_event')),
    sa.UniqueConstraint('record_id', 'seq', name=op.f('uq_record_event_record_id_seq'))
    )
    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("content_type IN ('application/pdf', 'image/jpeg', 'image/png')", name=op.f('ck_attachment_content_type_allowed')),
    sa.CheckConstraint("purpose IN ('evidence', 'obligation_proof', 'credit_commitment', 'supplement', 'department_reply', 'decision')", name=op.f('ck_attachment_purpose_allowed')),
    sa.CheckConstraint('size_bytes > 0', name=op.f('ck_attachment_size_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_attachment_case_id_case')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_attachment_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)

    op.create_table('case_event',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=30), nullable=True),
    sa.Column('to_state', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_case_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_event_case_id_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_event')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_case_event_case_id_seq'))
    )
    op.create_table('timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('clock', sa.String(length=30), nullable=False),
    sa.Column('unit', sa.String(length=2), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('remaining', sa.Integer(), nullable=True),
    sa.Column('stopped_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_soon_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('breached_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extended', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("status <> 'paused' OR (paused_at IS NOT NULL AND remaining IS NOT NULL)", name=op.f('ck_timer_paused_keeps_remaining')),
    sa.CheckConstraint("status <> 'running' OR due_at IS NOT NULL", name=op.f('ck_timer_running_has_deadline')),
    sa.CheckConstraint("status <> 'stopped' OR stopped_at IS NOT NULL", name=op.f('ck_timer_stopped_has_time')),
    sa.CheckConstraint("status IN ('running', 'paused', 'stopped')", name=op.f('ck_timer_status_allowed')),
    sa.CheckConstraint("unit IN ('wd', 'cd')", name=op.f('ck_timer_unit_allowed')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_timer_case_id_case')),
    sa.ForeignKeyConstraint(['policy_version'], ['policy.version'], name=op.f('fk_timer_policy_version_policy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timer'))
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timer_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_timer_status_due_at', ['status', 'due_at'], unique=False)

    for table in APPEND_ONLY_TABLES:
        make_append_only(table)


def downgrade():
    for table in APPEND_ONLY_TABLES:
        drop_append_only(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_audit_change()")
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index('ix_timer_status_due_at')
        batch_op.drop_index(batch_op.f('ix_timer_case_id'))

    op.drop_table('timer')
    op.drop_table('case_event')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachment_case_id'))

    op.drop_table('attachment')
    op.drop_table('record_event')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_subject_id'))
        batch_op.drop_index('ix_case_state_due_at')
        batch_op.drop_index(batch_op.f('ix_case_record_id'))
        batch_op.drop_index('ix_case_kind_state_due_at')
        batch_op.drop_index('ix_case_department_state')
        batch_op.drop_index('ix_case_assignee_state')
        batch_op.drop_index(batch_op.f('ix_case_applicant_id'))

    op.drop_table('case')
    with op.batch_alter_table('credit_record', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_record_subject_state')
        batch_op.drop_index('ix_credit_record_state_publicity_end')
        batch_op.drop_index('ix_credit_record_department_state')

    op.drop_table('credit_record')
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_effective_from'))

    op.drop_table('policy')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_status_next_attempt_at')
        batch_op.drop_index('ix_notification_recipient_user_read')
        batch_op.drop_index(batch_op.f('ix_notification_recipient_department_id'))

    op.drop_table('notification')
    op.drop_table('calendar_override')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_subject_id'))
        batch_op.drop_index(batch_op.f('ix_user_account_department_id'))

    op.drop_table('user_account')
    op.drop_table('subject')
    with op.batch_alter_table('sign_in_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_attempt_username_at')
        batch_op.drop_index('ix_sign_in_attempt_address_at')

    op.drop_table('sign_in_attempt')
    op.drop_table('department')
    op.drop_table('case_number_counter')


def make_append_only(table):
    """Audit rows may be inserted, never changed or removed: the database refuses it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION refuse_audit_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION USING MESSAGE = 'audit table ' || TG_TABLE_NAME || ' is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def drop_append_only(table):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
