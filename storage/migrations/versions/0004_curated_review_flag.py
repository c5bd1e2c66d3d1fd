"""Curated answers can be flagged for review (their source page was removed from the city's website).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Why: a curated answer that cites a page the city took down may no longer be true. The website sync flags it (with
the reason and when), the review page shows the flag, and a reviewer keeps or retires the answer.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("curated_answers") as batch:
        batch.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("review_flagged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("curated_answers") as batch:
        batch.drop_column("review_flagged_at")
        batch.drop_column("review_reason")
