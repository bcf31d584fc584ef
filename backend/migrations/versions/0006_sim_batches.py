"""SIM-PKI batches and the SIM poller's lease (the lease moved to the jobs table in 0013)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_transactions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lease_owner", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("batch_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_signing_transactions_batch_id"), ["batch_id"], unique=False
        )
    op.create_table(
        "signing_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_signing_batches_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["users.id"], name=op.f("fk_signing_batches_signer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_batches")),
    )
    with op.batch_alter_table("signing_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_batches_signer_id"), ["signer_id"], unique=False
        )
    op.create_table(
        "signing_batch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["signing_batches.id"],
            name=op.f("fk_signing_batch_items_batch_id_signing_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_signing_batch_items_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["signing_transactions.id"],
            name=op.f("fk_signing_batch_items_transaction_id_signing_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_batch_items")),
    )
    with op.batch_alter_table("signing_batch_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_batch_items_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_batch_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_batch_items_batch_id"))
    op.drop_table("signing_batch_items")
    with op.batch_alter_table("signing_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_batches_signer_id"))
    op.drop_table("signing_batches")
    with op.batch_alter_table("signing_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_transactions_batch_id"))
        batch_op.drop_column("batch_id")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
