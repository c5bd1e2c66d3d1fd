"""Claim index: queued escalations in claim order (tenant, priority DESC, created_at, id), partial on state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Why: the first index had priority ascending, so the claim's `ORDER BY priority DESC, created_at` sorted every
queued row on each claim (8 ms at 5,000 queued on PostgreSQL); this one hands over the first entry directly.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

QUEUED = sa.text("state = 'queued'")


def upgrade() -> None:
    op.drop_index("ix_escalations_state_tenant_priority_created_at", table_name="escalations")
    op.create_index(
        "ix_escalations_queued_by_urgency", "escalations",
        ["tenant", sa.text("priority DESC"), "created_at", "id"], sqlite_where=QUEUED, postgresql_where=QUEUED,
    )


def downgrade() -> None:
    op.drop_index("ix_escalations_queued_by_urgency", table_name="escalations")
    op.create_index("ix_escalations_state_tenant_priority_created_at", "escalations",
                    ["state", "tenant", "priority", "created_at"])
