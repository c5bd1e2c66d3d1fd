"""Index versions published for every instance.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Why: several web instances and workers must serve the same index version and pick up a new one without a
restart. The snapshot lives in the shared index directory; this table says which version is current per tenant
(its newest row), who published it and when.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copies of the schema's types, as migrations are.
SERIAL_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "index_versions",
        sa.Column("id", SERIAL_ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.String(length=32), nullable=True),
        sa.Column("published_at", UTC_TIME, nullable=False),
        sa.Column("published_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_index_versions"),
    )
    op.create_index("ix_index_versions_tenant_id", "index_versions", ["tenant", "id"])


def downgrade() -> None:
    op.drop_index("ix_index_versions_tenant_id", table_name="index_versions")
    op.drop_table("index_versions")
