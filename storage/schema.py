"""The one schema, as SQLAlchemy Core tables. Migrations create it; this module is what queries are written against.

Every table carries `tenant` so every query can be scoped; timestamps are aware UTC (see types.UTCDateTime).
A test compares this metadata with the migrated database, so the two cannot drift apart silently.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean, CheckConstraint, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint, text,
)

from .types import JSONDoc, SerialId, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

CONVERSATION_STATES = ("assistant", "with_operator", "closed")
MESSAGE_ROLES = ("resident", "assistant", "operator", "system")
INBOUND_STATUSES = ("received", "processing", "done", "failed")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
ESCALATION_STATES = ("queued", "claimed", "waiting_resident", "resolved", "returned")
OPEN_ESCALATION_STATES = ("queued", "claimed", "waiting_resident")
OPERATOR_ROLES = ("operator", "supervisor", "admin")
FEEDBACK_RATINGS = ("helpful", "unhelpful")
REVIEW_ACTIONS = ("curated_answer", "right_source", "outdated", "dismissed")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def _in_states(values: tuple[str, ...]) -> str:
    return "state IN (" + ", ".join(f"'{v}'" for v in values) + ")"


OPEN_CONVERSATION = "state <> 'closed' AND NOT deleted"
OPEN_ESCALATION = _in_states(OPEN_ESCALATION_STATES)

conversations = Table(
    "conversations", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("resident_address", String(320), nullable=False),  # LINE userId, phone, email, web session id
    Column("state", String(16), nullable=False, server_default="assistant"),
    Column("language", String(16), nullable=False, server_default="ja"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_activity_at", UTCDateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    _one_of("state", CONVERSATION_STATES, "state"),
    Index("ix_conversations_tenant_state_activity", "tenant", "state", "last_activity_at"),
    # At most one open conversation per resident address: concurrent first messages cannot fork a conversation.
    Index(
        "uq_conversations_open_per_address", "tenant", "channel", "resident_address", unique=True,
        sqlite_where=text(OPEN_CONVERSATION), postgresql_where=text(OPEN_CONVERSATION),
    ),
)

messages = Table(
    "messages", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("conversation_id", String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("turn_id", String(36), nullable=True),
    Column("meta", JSONDoc, nullable=True),
    _one_of("role", MESSAGE_ROLES, "role"),
    Index("ix_messages_conversation_id_id", "conversation_id", "id"),
)

inbound_events = Table(
    "inbound_events", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("payload", JSONDoc, nullable=False),
    Column("status", String(16), nullable=False, server_default="received"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("locked_by", String(128), nullable=True),  # the lease token of the worker holding it
    Column("locked_until", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    # Set when the event is stored into a conversation (migration 0005), so erasure finds every payload of it,
    # those of messages that produced no turn (an operator held the conversation) included.
    Column("conversation_id", String(36), nullable=True),
    # The tenant is part of the identity: one mail addressed to two cities is two events (migration 0005).
    # Per-resident order (migration 0007): a hash of tenant, channel and sender (never the address itself); an
    # event is claimed only when no earlier event with the same key is still waiting or running.
    Column("order_key", String(32), nullable=True),
    # Higher first (migration 0007): emergencies and crises (by their words, at recording) jump the backlog.
    Column("priority", Integer, nullable=False, server_default="0"),
    UniqueConstraint("tenant", "channel", "external_id"),
    _one_of("status", INBOUND_STATUSES, "status"),
    Index("ix_inbound_events_status_locked_until", "status", "locked_until"),
    Index("ix_inbound_events_conversation_id", "conversation_id"),
)

PENDING_INBOUND = "status IN ('received', 'processing')"
# The order guard's lookup: a resident's earlier events that are not finished yet.
Index("ix_inbound_events_pending_by_order_key", inbound_events.c.order_key, inbound_events.c.id,
      sqlite_where=text(PENDING_INBOUND), postgresql_where=text(PENDING_INBOUND))
# The claim's own order over waiting events: the most urgent first, then the oldest.
Index("ix_inbound_events_pending_by_priority", inbound_events.c.priority.desc(), inbound_events.c.id,
      sqlite_where=text(PENDING_INBOUND), postgresql_where=text(PENDING_INBOUND))

turns = Table(
    "turns", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("conversation_id", String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    # Unique: one inbound event yields at most one turn, however often a worker retries it.
    Column("inbound_event_id", SerialId, ForeignKey("inbound_events.id"), nullable=True, unique=True),
    Column("outcome", String(32), nullable=False),
    Column("reason", String(32), nullable=True),
    Column("confidence", Float, nullable=True),
    Column("risk", String(32), nullable=True),
    Column("intent", String(64), nullable=True),
    Column("language", String(16), nullable=True),
    Column("sources", JSONDoc, nullable=True),
    Column("timings", JSONDoc, nullable=True),
    Column("index_version", String(64), nullable=True),
    Column("config_version", String(64), nullable=True),
    Column("redacted_question", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Added by migration 0003 (governance): what framed the reply, and where the question came in.
    Column("channel", String(16), nullable=True),
    Column("template", String(64), nullable=True),
    Column("template_version", String(64), nullable=True),
    Index("ix_turns_tenant_created_at", "tenant", "created_at"),
    Index("ix_turns_conversation_id", "conversation_id"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("conversation_id", String(36), nullable=True),
    Column("payload", JSONDoc, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_by", String(128), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    _one_of("status", OUTBOX_STATUSES, "status"),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
)

PENDING_OUTBOX = "status IN ('pending', 'sending')"
# Per-recipient order (migration 0007): a message leaves only after the recipient's earlier ones were sent or given up.
Index("ix_outbox_pending_by_recipient", outbox.c.tenant, outbox.c.channel, outbox.c.recipient, outbox.c.id,
      sqlite_where=text(PENDING_OUTBOX), postgresql_where=text(PENDING_OUTBOX))

escalations = Table(
    "escalations", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("conversation_id", String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("turn_id", String(36), nullable=True),
    Column("reason", String(32), nullable=False),
    Column("risk", String(32), nullable=True),
    Column("priority", Integer, nullable=False, server_default="0"),  # higher first; risk tiers rank highest
    Column("state", String(24), nullable=False, server_default="queued"),
    Column("assigned_to", String(64), nullable=True),  # set by a transfer: only this operator may claim it
    Column("claimed_by", String(64), nullable=True),  # operator username
    Column("claim_token", String(36), nullable=True, unique=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("heartbeat_at", UTCDateTime, nullable=True),
    Column("first_response_due", UTCDateTime, nullable=True),
    Column("resolve_due", UTCDateTime, nullable=True),
    Column("first_response_at", UTCDateTime, nullable=True),
    Column("holding_sent_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolution_reason", Text, nullable=True),
    Column("draft_answer", Text, nullable=True),
    Column("draft_confidence", Float, nullable=True),
    Column("draft_sources", JSONDoc, nullable=True),
    Column("meta", JSONDoc, nullable=True),  # e.g. a callback request collected outside office hours
    _one_of("state", ESCALATION_STATES, "state"),
    Index("ix_escalations_state_heartbeat_at", "state", "heartbeat_at"),
    # One open hand-over per conversation: a second trigger raises the priority of the first instead.
    Index(
        "uq_escalations_open_per_conversation", "conversation_id", unique=True,
        sqlite_where=text(OPEN_ESCALATION), postgresql_where=text(OPEN_ESCALATION),
    ),
)

# The claim's own order over queued rows only: a claim reads the first index entry instead of sorting the queue.
Index(
    "ix_escalations_queued_by_urgency", escalations.c.tenant, escalations.c.priority.desc(), escalations.c.created_at,
    escalations.c.id, sqlite_where=text("state = 'queued'"), postgresql_where=text("state = 'queued'"),
)

operators = Table(
    "operators", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("display_name", String(128), nullable=False),
    Column("role", String(16), nullable=False, server_default="operator"),
    Column("slack_user_id", String(64), nullable=True, unique=True),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False),
    _one_of("role", OPERATOR_ROLES, "role"),
)

# Staff sign-ins, server side (migration 0005): a session ends when it is revoked (sign-out, a password change, an
# administrator's `madoguchi users revoke-sessions`), whatever the signed cookie still says. Only a hash of the
# session id is stored, so a copy of the table signs nobody in.
staff_sessions = Table(
    "staff_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("operator_id", Integer, ForeignKey("operators.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_reason", String(32), nullable=True),
    Index("ix_staff_sessions_operator_id", "operator_id"),
)

# Failed sign-ins per (client address, username) and per client address (migration 0005): each failure past a few
# doubles the wait before the next try from there. A username is never locked for everyone.
sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("scope", String(400), primary_key=True),  # "client|username" or "client|*"
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False),
    Column("blocked_until", UTCDateTime, nullable=True),
)

operator_tenants = Table(
    "operator_tenants", metadata,
    Column("operator_id", Integer, ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant", String(64), primary_key=True),
)

operator_notes = Table(
    "operator_notes", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("escalation_id", String(36), ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False),
    Column("operator", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_operator_notes_escalation_id", "escalation_id"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("tenant", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", String(128), nullable=True),
    Column("detail", JSONDoc, nullable=True),
    Index("ix_audit_log_tenant_at", "tenant", "at"),
)

feedback = Table(
    "feedback", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("conversation_id", String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("turn_id", String(36), ForeignKey("turns.id", ondelete="CASCADE"), nullable=True),
    Column("rating", String(16), nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    _one_of("rating", FEEDBACK_RATINGS, "rating"),
    Index("ix_feedback_tenant_created_at", "tenant", "created_at"),
)

# Staff corrections (governance, migration 0003). A curated answer either carries its own text (with its own source
# and expiry) or names the right document for the question (doc_id): the dialogue uses it from then on.
curated_answers = Table(
    "curated_answers", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("question", Text, nullable=False),  # redacted
    Column("question_key", String(512), nullable=False),  # normalised for exact matching
    Column("answer", Text, nullable=True),
    Column("doc_id", String(255), nullable=True),
    Column("source_title", String(255), nullable=True),
    Column("source_url", String(1024), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("turn_id", String(36), nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
    # Set when its source page was removed from the city's website (migration 0004): a reviewer should look.
    Column("review_reason", Text, nullable=True),
    Column("review_flagged_at", UTCDateTime, nullable=True),
    CheckConstraint("answer IS NOT NULL OR doc_id IS NOT NULL", name="answer_or_doc"),
    Index("ix_curated_answers_tenant_question_key", "tenant", "question_key"),
)

# A flagged document is not used until the index is rebuilt (index_version changes) or the flag is cleared.
outdated_documents = Table(
    "outdated_documents", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("doc_id", String(255), nullable=False),
    Column("reason", Text, nullable=True),
    Column("index_version", String(64), nullable=True),
    Column("flagged_by", String(64), nullable=False),
    Column("flagged_at", UTCDateTime, nullable=False),
    Column("cleared_at", UTCDateTime, nullable=True),
    Column("cleared_by", String(64), nullable=True),
    Index("ix_outdated_documents_tenant_doc_id", "tenant", "doc_id"),
)

# What a reviewer did with an item of the review list (it leaves the list).
review_decisions = Table(
    "review_decisions", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("turn_id", String(36), nullable=True),
    Column("action", String(32), nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("detail", JSONDoc, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    _one_of("action", REVIEW_ACTIONS, "action"),
    Index("ix_review_decisions_tenant_turn_id", "tenant", "turn_id"),
)

# Operations (migration 0006). A kill switch set from the console overrides the tenant YAML until it is cleared;
# every change is also an audit row. `switch` is "answering" or "channel:<name>"; `off` true means switched off.
kill_switches = Table(
    "kill_switches", metadata,
    Column("tenant", String(64), primary_key=True),
    Column("switch", String(64), primary_key=True),
    Column("off", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    Column("set_by", String(64), nullable=False),
    Column("set_at", UTCDateTime, nullable=False),
)

# Rate limits shared by every instance: one counter per key (a hash of who is limited: never the address itself)
# and fixed window; the limiter weighs the previous window in, which approximates a sliding window.
rate_limit_counts = Table(
    "rate_limit_counts", metadata,
    Column("key", String(80), primary_key=True),
    Column("window_start", UTCDateTime, primary_key=True),
    Column("hits", Integer, nullable=False),
    Index("ix_rate_limit_counts_window_start", "window_start"),
)

# Index versions published for every instance (migration 0008). An ingest job writes the snapshot into the shared
# index directory (index_dir/<tenant>/versions/<version>/) and then adds a row here; the newest row of a tenant is
# the version every instance serves. Publishing an older version again rolls back.
index_versions = Table(
    "index_versions", metadata,
    Column("id", SerialId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("documents", Integer, nullable=False),
    Column("built_at", String(32), nullable=True),
    Column("published_at", UTCDateTime, nullable=False),
    Column("published_by", String(128), nullable=True),
    Index("ix_index_versions_tenant_id", "tenant", "id"),
)
