"""Operations: kill switches set from the console, and rate-limit counters shared by every instance.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Why: a supervisor must be able to turn answering (or one channel) off for a tenant at once, on every instance,
and have it stay off after a restart; rate limits must hold when several web instances serve one tenant.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kill_switches",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("switch", sa.String(length=64), nullable=False),
        sa.Column("off", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "switch", name=op.f("pk_kill_switches")),
    )
    op.create_table(
        "rate_limit_counts",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", UTC_TIME, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_counts")),
    )
    op.create_index("ix_rate_limit_counts_window_start", "rate_limit_counts", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_counts_window_start", table_name="rate_limit_counts")
    op.drop_table("rate_limit_counts")
    op.drop_table("kill_switches")
