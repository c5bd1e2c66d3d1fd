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
    append_message, erase_conversation, erase_inactive_conversations, get_conversation, list_conversations,
    list_messages, list_turns, new_id, open_conversation, record_feedback, record_turn, set_conversation_state,
    turn_for_inbound,
)
from .database import Database, get_database
from .inbound import (
    claim_inbound_batch, extend_inbound_lease, inbound_event_from_row, mark_inbound_done, mark_inbound_failed,
    record_inbound,
)
from .operators import (
    add_note, create_operator, get_operator, get_operator_by_id, get_operator_by_slack_user, list_notes,
    list_operators, operator_tenant_ids, set_operator_tenants, update_operator,
)
from .outbox import claim_outbox_batch, enqueue_outbox, mark_send_failed, mark_sent, outbound_message_from_row
from .types import utcnow

__all__ = [
    "Database", "get_database", "utcnow", "new_id",
    "record_inbound", "claim_inbound_batch", "mark_inbound_done", "mark_inbound_failed", "extend_inbound_lease",
    "inbound_event_from_row",
    "enqueue_outbox", "claim_outbox_batch", "mark_sent", "mark_send_failed", "outbound_message_from_row",
    "open_conversation", "get_conversation", "list_conversations", "set_conversation_state", "append_message",
    "list_messages", "record_turn", "turn_for_inbound", "list_turns", "record_feedback", "erase_conversation",
    "erase_inactive_conversations",
    "create_operator", "get_operator", "get_operator_by_id", "get_operator_by_slack_user", "operator_tenant_ids",
    "set_operator_tenants", "list_operators", "update_operator", "add_note", "list_notes",
    "append_audit", "list_audit",
]
