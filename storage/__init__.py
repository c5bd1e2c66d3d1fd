"""Persistence for the whole system: SQLAlchemy 2 Core on SQLite (default) or PostgreSQL, Alembic migrations.

    db = Database()            # settings.effective_database_url; or Database("postgresql+psycopg://…/db")
    db.migrate()               # upgrade to head (packaged migrations; safe from several processes)
    with db.transaction() as conn:
        if record_inbound(conn, event): ...

Repository functions take the Connection of the caller's transaction as their first argument, so a turn, its
messages, its escalation, its outbox reply and the inbound event's completion commit together or not at all.
Rows come back as SQLAlchemy Rows (attribute access by column name); datetimes are aware UTC.
"""
from .audit import append_audit, list_audit
from .conversations import (
    append_message, assistant_message_of_turn, erase_conversation, erase_inactive_conversations, erase_unattached_inbound,
    find_open_conversation, first_message_after, first_resident_texts, get_conversation, latest_inbound_of,
    latest_messages, list_conversations, list_messages, list_turns, new_id, open_conversation, previous_resident_message_id,
    record_feedback, record_turn,
    resident_message_of_inbound, set_conversation_state, turn_for_inbound, turn_of_conversation, turn_of_tenant,
    turns_of_conversation,
)
from .database import Database
from .inbound import (
    attach_inbound_to_conversation, claim_inbound_batch, extend_inbound_lease, inbound_by_external_id, inbound_by_id, inbound_event_from_row,
    inbox_notify_channel, inbound_status, lease_inbound_event, leased_inbound_event, mark_inbound_done,
    mark_inbound_failed, notify_inbox, record_inbound, release_inbound, resident_is_waiting,
)
from .index_versions import current_index_version, index_version_history, publish_index_version
from .operators import (
    add_note, create_operator, get_operator, get_operator_by_id, get_operator_by_slack_user, list_notes,
    list_operators, operator_tenant_ids, set_operator_tenants, update_operator,
)
from .outbox import (
    claim_outbox_batch, conversations_with_failed_replies, enqueue_outbox, mark_send_failed, mark_sent,
    outbound_message_from_row, outbox_by_key, queue_counts, release_outbox, undelivered_replies,
)
from .staff import (
    clear_sign_in_failures, create_staff_session, forget_expired_sessions, forget_old_sign_in_failures,
    live_session_count, record_sign_in_failure, revoke_operator_sessions, revoke_staff_session,
    sign_in_blocked_until, sign_in_failure_count, staff_session_is_live,
)
from .types import Connection, DuplicateKey, Row, StorageError, utcnow

__all__ = [
    "Database", "Connection", "Row", "DuplicateKey", "StorageError", "utcnow", "new_id",
    "record_inbound", "attach_inbound_to_conversation", "claim_inbound_batch", "mark_inbound_done", "mark_inbound_failed", "extend_inbound_lease",
    "release_inbound", "release_outbox",
    "inbound_event_from_row", "inbound_by_external_id", "inbound_by_id", "inbound_status", "lease_inbound_event",
    "leased_inbound_event", "notify_inbox", "inbox_notify_channel", "resident_is_waiting",
    "enqueue_outbox", "claim_outbox_batch", "mark_sent", "mark_send_failed", "outbound_message_from_row",
    "outbox_by_key", "queue_counts", "undelivered_replies", "conversations_with_failed_replies",
    "open_conversation", "find_open_conversation", "get_conversation", "list_conversations",
    "set_conversation_state", "append_message", "list_messages", "latest_messages", "first_resident_texts", "assistant_message_of_turn",
    "resident_message_of_inbound", "latest_inbound_of", "previous_resident_message_id", "first_message_after",
    "record_turn", "turn_for_inbound", "turn_of_conversation",
    "turn_of_tenant", "turns_of_conversation", "list_turns", "record_feedback", "erase_conversation",
    "erase_inactive_conversations", "erase_unattached_inbound",
    "create_operator", "get_operator", "get_operator_by_id", "get_operator_by_slack_user", "operator_tenant_ids",
    "set_operator_tenants", "list_operators", "update_operator", "add_note", "list_notes",
    "append_audit", "list_audit",
    "create_staff_session", "staff_session_is_live", "revoke_staff_session", "revoke_operator_sessions",
    "live_session_count", "forget_expired_sessions", "sign_in_blocked_until", "sign_in_failure_count",
    "record_sign_in_failure", "clear_sign_in_failures", "forget_old_sign_in_failures",
    "publish_index_version", "current_index_version", "index_version_history",
]
