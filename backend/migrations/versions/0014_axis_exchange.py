"""the agency directory of the national axis, and the exchange over it

Agencies gain the directory's fields (its ids, e-mail, the other code of a QĐ 20 pair, deleted,
the folded search key) and `hosted`: every agency so far has its people here; the ones the
directory sync adds do not. Four tables carry the
exchange: dispatches (a packet built once), deliveries (its journey to each recipient), received
packets (raw bytes kept before the axis is told) and the status timeline of both sides.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "axis_dispatches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=False),
        sa.Column("document_key", sa.String(length=255), nullable=False),
        sa.Column("notation", sa.String(length=128), nullable=False),
        sa.Column("packet_sha256", sa.String(length=64), nullable=False),
        sa.Column("packet_size", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("send_rounds", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_axis_dispatches_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_axis_dispatches_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_axis_dispatches_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axis_dispatches")),
    )
    with op.batch_alter_table("axis_dispatches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axis_dispatches_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "axis_received",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("axis_doc_id", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=8), nullable=False),
        sa.Column("packet_sha256", sa.String(length=64), nullable=False),
        sa.Column("packet_size", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=True),
        sa.Column("sender_code", sa.String(length=32), nullable=False),
        sa.Column("sender_name", sa.String(length=255), nullable=False),
        sa.Column("document_key_text", sa.String(length=255), nullable=False),
        sa.Column("match_key", sa.String(length=255), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("number_symbol", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("promulgated", sa.Date(), nullable=True),
        sa.Column("urgency", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=False),
        sa.Column("problem_vi", sa.Text(), nullable=False),
        sa.Column("problem_en", sa.Text(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recall", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_axis_received_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_axis_received_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_axis_received_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["axis_received.id"],
            name=op.f("fk_axis_received_duplicate_of_id_axis_received"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axis_received")),
        sa.UniqueConstraint("agency_id", "dedupe_key", name=op.f("uq_axis_received_agency_id")),
        sa.UniqueConstraint("axis_doc_id", name=op.f("uq_axis_received_axis_doc_id")),
    )
    with op.batch_alter_table("axis_received", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_axis_received_match_key"), ["match_key"], unique=False)
        batch_op.create_index("ix_axis_received_state", ["agency_id", "state"], unique=False)

    op.create_table(
        "axis_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("recipient_code", sa.String(length=32), nullable=False),
        sa.Column("recipient_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("axis_doc_id", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_code", sa.String(length=2), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_note", sa.Text(), nullable=False),
        sa.Column("recall", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispatch_id"],
            ["axis_dispatches.id"],
            name=op.f("fk_axis_deliveries_dispatch_id_axis_dispatches"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_axis_deliveries_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axis_deliveries")),
        sa.UniqueConstraint(
            "dispatch_id", "recipient_code", name=op.f("uq_axis_deliveries_dispatch_id")
        ),
    )
    with op.batch_alter_table("axis_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axis_deliveries_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            "ix_axis_deliveries_recipient_state", ["recipient_code", "state"], unique=False
        )

    op.create_table(
        "axis_status_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("received_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("staff", sa.String(length=255), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("axis_doc_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["axis_deliveries.id"],
            name=op.f("fk_axis_status_events_delivery_id_axis_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["received_id"],
            ["axis_received.id"],
            name=op.f("fk_axis_status_events_received_id_axis_received"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axis_status_events")),
    )
    with op.batch_alter_table("axis_status_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axis_status_events_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_axis_status_events_received_id"), ["received_id"], unique=False
        )

    with op.batch_alter_table("agencies", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("hosted", sa.Boolean(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("axis_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("axis_parent_id", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("mail", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("other_code", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("directory_deleted", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("directory_synced_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("search_key", sa.String(length=512), server_default="", nullable=False)
        )
    op.create_index(op.f("ix_agencies_axis_id"), "agencies", ["axis_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_agencies_axis_id"), table_name="agencies")
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): recreating the table would break the foreign
    # keys of every row that points at an agency.
    with op.batch_alter_table("agencies", recreate="never") as batch_op:
        batch_op.drop_column("search_key")
        batch_op.drop_column("directory_synced_at")
        batch_op.drop_column("directory_deleted")
        batch_op.drop_column("other_code")
        batch_op.drop_column("mail")
        batch_op.drop_column("axis_parent_id")
        batch_op.drop_column("axis_id")
        batch_op.drop_column("hosted")

    with op.batch_alter_table("axis_status_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axis_status_events_received_id"))
        batch_op.drop_index(batch_op.f("ix_axis_status_events_delivery_id"))

    op.drop_table("axis_status_events")
    with op.batch_alter_table("axis_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_axis_deliveries_recipient_state")
        batch_op.drop_index(batch_op.f("ix_axis_deliveries_document_id"))

    op.drop_table("axis_deliveries")
    with op.batch_alter_table("axis_received", schema=None) as batch_op:
        batch_op.drop_index("ix_axis_received_state")
        batch_op.drop_index(batch_op.f("ix_axis_received_match_key"))

    op.drop_table("axis_received")
    with op.batch_alter_table("axis_dispatches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axis_dispatches_document_id"))

    op.drop_table("axis_dispatches")
