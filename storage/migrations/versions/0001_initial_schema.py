"""Initial schema: conversations, messages, inbound events, turns, outbox, escalations, operators, audit, feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Types are spelled out here rather than imported from the application, so this revision keeps creating the
same tables whatever later code does.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
SERIAL_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES_IN_CREATION_ORDER = (
    "audit_log", "conversations", "inbound_events", "operators", "outbox", "escalations", "messages",
    "operator_tenants", "turns", "feedback", "operator_notes",
)


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', SERIAL_ID, autoincrement=True, nullable=False),
    sa.Column('at', UTC_TIME, nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=128), nullable=True),
    sa.Column('detail', JSON_DOC, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_tenant_at', 'audit_log', ['tenant', 'at'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('resident_address', sa.String(length=320), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='assistant', nullable=False),
    sa.Column('language', sa.String(length=16), server_default='ja', nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.Column('last_activity_at', UTC_TIME, nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.CheckConstraint("state IN ('assistant', 'with_operator', 'closed')", name=op.f('ck_conversations_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    op.create_index('ix_conversations_tenant_state_activity', 'conversations', ['tenant', 'state', 'last_activity_at'], unique=False)
    op.create_index('uq_conversations_open_per_address', 'conversations', ['tenant', 'channel', 'resident_address'], unique=True, sqlite_where=sa.text("state <> 'closed' AND NOT deleted"), postgresql_where=sa.text("state <> 'closed' AND NOT deleted"))

    op.create_table('inbound_events',
    sa.Column('id', SERIAL_ID, autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('payload', JSON_DOC, nullable=False),
    sa.Column('status', sa.String(length=16), server_default='received', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_by', sa.String(length=128), nullable=True),
    sa.Column('locked_until', UTC_TIME, nullable=True),
    sa.Column('received_at', UTC_TIME, nullable=False),
    sa.Column('processed_at', UTC_TIME, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('received', 'processing', 'done', 'failed')", name=op.f('ck_inbound_events_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_events')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_inbound_events_channel_external_id'))
    )
    op.create_index('ix_inbound_events_status_locked_until', 'inbound_events', ['status', 'locked_until'], unique=False)

    op.create_table('operators',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), server_default='operator', nullable=False),
    sa.Column('slack_user_id', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.CheckConstraint("role IN ('operator', 'supervisor', 'admin')", name=op.f('ck_operators_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('slack_user_id', name=op.f('uq_operators_slack_user_id')),
    sa.UniqueConstraint('username', name=op.f('uq_operators_username'))
    )

    op.create_table('outbox',
    sa.Column('id', SERIAL_ID, autoincrement=True, nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('payload', JSON_DOC, nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', UTC_TIME, nullable=False),
    sa.Column('locked_by', sa.String(length=128), nullable=True),
    sa.Column('locked_until', UTC_TIME, nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('sent_at', UTC_TIME, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name=op.f('ck_outbox_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    op.create_index('ix_outbox_status_next_attempt_at', 'outbox', ['status', 'next_attempt_at'], unique=False)

    op.create_table('escalations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('turn_id', sa.String(length=36), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('risk', sa.String(length=32), nullable=True),
    sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
    sa.Column('state', sa.String(length=24), server_default='queued', nullable=False),
    sa.Column('assigned_to', sa.String(length=64), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('claimed_at', UTC_TIME, nullable=True),
    sa.Column('heartbeat_at', UTC_TIME, nullable=True),
    sa.Column('first_response_due', UTC_TIME, nullable=True),
    sa.Column('resolve_due', UTC_TIME, nullable=True),
    sa.Column('first_response_at', UTC_TIME, nullable=True),
    sa.Column('holding_sent_at', UTC_TIME, nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.Column('resolved_at', UTC_TIME, nullable=True),
    sa.Column('resolution_reason', sa.Text(), nullable=True),
    sa.Column('draft_answer', sa.Text(), nullable=True),
    sa.Column('draft_confidence', sa.Float(), nullable=True),
    sa.Column('draft_sources', JSON_DOC, nullable=True),
    sa.Column('meta', JSON_DOC, nullable=True),
    sa.CheckConstraint("state IN ('queued', 'claimed', 'waiting_resident', 'resolved', 'returned')", name=op.f('ck_escalations_state')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_escalations_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations')),
    sa.UniqueConstraint('claim_token', name=op.f('uq_escalations_claim_token'))
    )
    op.create_index('ix_escalations_state_heartbeat_at', 'escalations', ['state', 'heartbeat_at'], unique=False)
    op.create_index('ix_escalations_state_tenant_priority_created_at', 'escalations', ['state', 'tenant', 'priority', 'created_at'], unique=False)
    op.create_index('uq_escalations_open_per_conversation', 'escalations', ['conversation_id'], unique=True, sqlite_where=sa.text("state IN ('queued', 'claimed', 'waiting_resident')"), postgresql_where=sa.text("state IN ('queued', 'claimed', 'waiting_resident')"))

    op.create_table('messages',
    sa.Column('id', SERIAL_ID, autoincrement=True, nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('turn_id', sa.String(length=36), nullable=True),
    sa.Column('meta', JSON_DOC, nullable=True),
    sa.CheckConstraint("role IN ('resident', 'assistant', 'operator', 'system')", name=op.f('ck_messages_role')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    op.create_index('ix_messages_conversation_id_id', 'messages', ['conversation_id', 'id'], unique=False)

    op.create_table('operator_tenants',
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_operator_tenants_operator_id_operators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('operator_id', 'tenant', name=op.f('pk_operator_tenants'))
    )

    op.create_table('turns',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('inbound_event_id', SERIAL_ID, nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('risk', sa.String(length=32), nullable=True),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('sources', JSON_DOC, nullable=True),
    sa.Column('timings', JSON_DOC, nullable=True),
    sa.Column('index_version', sa.String(length=64), nullable=True),
    sa.Column('config_version', sa.String(length=64), nullable=True),
    sa.Column('redacted_question', sa.Text(), nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_turns_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbound_event_id'], ['inbound_events.id'], name=op.f('fk_turns_inbound_event_id_inbound_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turns')),
    sa.UniqueConstraint('inbound_event_id', name=op.f('uq_turns_inbound_event_id'))
    )
    op.create_index('ix_turns_conversation_id', 'turns', ['conversation_id'], unique=False)
    op.create_index('ix_turns_tenant_created_at', 'turns', ['tenant', 'created_at'], unique=False)

    op.create_table('feedback',
    sa.Column('id', SERIAL_ID, autoincrement=True, nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('turn_id', sa.String(length=36), nullable=True),
    sa.Column('rating', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.CheckConstraint("rating IN ('helpful', 'unhelpful')", name=op.f('ck_feedback_rating')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_feedback_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['turn_id'], ['turns.id'], name=op.f('fk_feedback_turn_id_turns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback'))
    )
    op.create_index('ix_feedback_tenant_created_at', 'feedback', ['tenant', 'created_at'], unique=False)

    op.create_table('operator_notes',
    sa.Column('id', SERIAL_ID, autoincrement=True, nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('escalation_id', sa.String(length=36), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], name=op.f('fk_operator_notes_escalation_id_escalations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_notes'))
    )
    op.create_index('ix_operator_notes_escalation_id', 'operator_notes', ['escalation_id'], unique=False)

    _make_audit_log_append_only()


def _make_audit_log_append_only() -> None:
    """The application has no update/delete API for the audit log; these triggers refuse it in the database too."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    for table in reversed(TABLES_IN_CREATION_ORDER):
        op.drop_table(table)  # its indexes and triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
