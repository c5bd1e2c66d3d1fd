"""Scale-out: per-resident order and urgency in the inbox, per-recipient order in the outbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Why: with two workers, a resident's quick successive messages were sometimes answered out of order (3 of 40 pairs
in a probe). An event now carries its resident's order key (a hash: never the address) and is claimed only after
that resident's earlier events are finished; replies leave in order per recipient. An emergency's words, recognised
at recording, put its event ahead of the backlog.
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PENDING_INBOUND = "status IN ('received', 'processing')"
PENDING_OUTBOX = "status IN ('pending', 'sending')"


def upgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch:
        batch.add_column(sa.Column("order_key", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
    _order_keys_of_waiting_events()
    op.create_index("ix_inbound_events_pending_by_order_key", "inbound_events", ["order_key", "id"],
                    sqlite_where=sa.text(PENDING_INBOUND), postgresql_where=sa.text(PENDING_INBOUND))
    op.create_index("ix_inbound_events_pending_by_priority", "inbound_events", [sa.text("priority DESC"), "id"],
                    sqlite_where=sa.text(PENDING_INBOUND), postgresql_where=sa.text(PENDING_INBOUND))
    op.create_index("ix_outbox_pending_by_recipient", "outbox", ["tenant", "channel", "recipient", "id"],
                    sqlite_where=sa.text(PENDING_OUTBOX), postgresql_where=sa.text(PENDING_OUTBOX))


def _order_keys_of_waiting_events() -> None:
    """Events recorded before this migration and not yet answered keep their order too (the same hash as
    storage.inbound.order_key; a frozen copy, as migrations are)."""
    events = sa.table("inbound_events", sa.column("id", sa.Integer), sa.column("tenant", sa.String),
                      sa.column("channel", sa.String), sa.column("payload", sa.JSON), sa.column("status", sa.String),
                      sa.column("order_key", sa.String))
    conn = op.get_bind()
    waiting = conn.execute(sa.select(events.c.id, events.c.tenant, events.c.channel, events.c.payload)
                           .where(events.c.status.in_(("received", "processing")))).all()
    for row in waiting:
        sender = (row.payload or {}).get("sender") if isinstance(row.payload, dict) else None
        if sender:
            key = hashlib.sha256(f"{row.tenant}\x00{row.channel}\x00{sender}".encode()).hexdigest()[:32]
            conn.execute(sa.update(events).where(events.c.id == row.id).values(order_key=key))


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_by_recipient", table_name="outbox")
    op.drop_index("ix_inbound_events_pending_by_priority", table_name="inbound_events")
    op.drop_index("ix_inbound_events_pending_by_order_key", table_name="inbound_events")
    with op.batch_alter_table("inbound_events") as batch:
        batch.drop_column("priority")
        batch.drop_column("order_key")
