"""drafts: replies, resubmission time; comments: idempotency key; per-version signature check

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_document_drafts_reply_to_id_documents"),
            "documents",
            ["reply_to_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_document_drafts_reply_to_id"), ["reply_to_id"], unique=False
        )
    with op.batch_alter_table("document_comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "uq_document_comments_client_key", ["author_id", "client_key"], unique=True
        )
    with op.batch_alter_table("file_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_check", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("file_versions", schema=None) as batch_op:
        batch_op.drop_column("signature_check")
    with op.batch_alter_table("document_comments", schema=None) as batch_op:
        batch_op.drop_index("uq_document_comments_client_key")
        batch_op.drop_column("client_key")
    with op.batch_alter_table("document_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_drafts_reply_to_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_document_drafts_reply_to_id_documents"), type_="foreignkey"
        )
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("reply_to_id")
