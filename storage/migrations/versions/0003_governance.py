"""Governance: template and channel on turns; curated answers, outdated-document flags and review decisions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Why: an audit record names the template (and its version) that framed the answer and the channel it came in on;
staff corrections (a curated answer, the right source for a question, a document flagged outdated) are data the
dialogue reads on every turn, and a reviewed item must leave the review list.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
SERIAL_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON(none_as_null=True).with_variant(sa.dialects.postgresql.JSONB(none_as_null=True), "postgresql")
REVIEW_ACTIONS = "action IN ('curated_answer', 'right_source', 'outdated', 'dismissed')"


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("template", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("template_version", sa.String(length=64), nullable=True))
    _create_curated_answers()
    _create_outdated_documents()
    _create_review_decisions()


def _create_curated_answers() -> None:
    op.create_table('curated_answers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('question_key', sa.String(length=512), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('doc_id', sa.String(length=255), nullable=True),
    sa.Column('source_title', sa.String(length=255), nullable=True),
    sa.Column('source_url', sa.String(length=1024), nullable=True),
    sa.Column('expires_at', UTC_TIME, nullable=True),
    sa.Column('turn_id', sa.String(length=36), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('retired_at', UTC_TIME, nullable=True),
    sa.CheckConstraint('answer IS NOT NULL OR doc_id IS NOT NULL', name=op.f('ck_curated_answers_answer_or_doc')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_curated_answers'))
    )
    op.create_index('ix_curated_answers_tenant_question_key', 'curated_answers', ['tenant', 'question_key'])


def _create_outdated_documents() -> None:
    op.create_table('outdated_documents',
    sa.Column('id', SERIAL_ID, autoincrement=True, nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('doc_id', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('index_version', sa.String(length=64), nullable=True),
    sa.Column('flagged_by', sa.String(length=64), nullable=False),
    sa.Column('flagged_at', UTC_TIME, nullable=False),
    sa.Column('cleared_at', UTC_TIME, nullable=True),
    sa.Column('cleared_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outdated_documents'))
    )
    op.create_index('ix_outdated_documents_tenant_doc_id', 'outdated_documents', ['tenant', 'doc_id'])


def _create_review_decisions() -> None:
    op.create_table('review_decisions',
    sa.Column('id', SERIAL_ID, autoincrement=True, nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('turn_id', sa.String(length=36), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('detail', JSON_DOC, nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.CheckConstraint(REVIEW_ACTIONS, name=op.f('ck_review_decisions_action')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_decisions'))
    )
    op.create_index('ix_review_decisions_tenant_turn_id', 'review_decisions', ['tenant', 'turn_id'])


def downgrade() -> None:
    for table in ("review_decisions", "outdated_documents", "curated_answers"):
        op.drop_table(table)
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("template_version")
        batch.drop_column("template")
        batch.drop_column("channel")
