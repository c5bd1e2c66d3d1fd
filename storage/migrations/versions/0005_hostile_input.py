"""Hostile input: inbound events unique per tenant and tied to their conversation; server-side staff sessions;
sign-in failures per client and username.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Why: one mail addressed to two cities was recorded for one only (uniqueness was channel + Message-ID); erasure
missed the payloads of messages that produced no turn (it found events through turns); a signed-out cookie kept
working until it expired; five wrong passwords locked a username for everyone.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("inbound_events") as batch:
        batch.add_column(sa.Column("conversation_id", sa.String(length=36), nullable=True))
        batch.drop_constraint("uq_inbound_events_channel_external_id", type_="unique")
        batch.create_unique_constraint("uq_inbound_events_tenant_channel_external_id",
                                       ["tenant", "channel", "external_id"])
        batch.create_index("ix_inbound_events_conversation_id", ["conversation_id"])
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_staff_sessions_operator_id_operators"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index("ix_staff_sessions_operator_id", "staff_sessions", ["operator_id"], unique=False)
    op.create_table(
        "sign_in_failures",
        sa.Column("scope", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTC_TIME, nullable=False),
        sa.Column("blocked_until", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_sign_in_failures")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_index("ix_staff_sessions_operator_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    with op.batch_alter_table("inbound_events") as batch:
        batch.drop_index("ix_inbound_events_conversation_id")
        batch.drop_constraint("uq_inbound_events_tenant_channel_external_id", type_="unique")
        batch.create_unique_constraint("uq_inbound_events_channel_external_id", ["channel", "external_id"])
        batch.drop_column("conversation_id")
