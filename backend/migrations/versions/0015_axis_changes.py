"""recall by packet, update and replace over the national axis (BussinessDocType 1, 2, 3)

Sent: a delivery records an update asked of its recipient (`update_state`, `update_note`), the
delivery of an update packet points at the one it is about (`about_id`), a dispatch at the
document it replaces (`replaces_document_id`), and a recall we send says how it goes
(`message_type`: a status 13 or a type-1 packet). Received: an update points at the packet it
updates (`original_id`), a replaced document at its replacement (`replaced_by_id`). A
document's page finds its replacements through two new indexes.

Plain ADD COLUMNs, not batch rebuilds (rows elsewhere point at these tables); SQLite adds a
reference with its column (`REFERENCES`), which Alembic's `add_column` cannot do there.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

REFERENCES = (
    ("axis_deliveries", "about_id", "axis_deliveries"),
    ("axis_dispatches", "replaces_document_id", "documents"),
    ("axis_received", "original_id", "axis_received"),
    ("axis_received", "replaced_by_id", "axis_received"),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.add_column(
        "axis_deliveries",
        sa.Column("update_state", sa.String(length=16), nullable=False, server_default=""),
    )
    op.add_column(
        "axis_deliveries", sa.Column("update_note", sa.Text(), nullable=False, server_default="")
    )
    op.add_column(
        "axis_status_events",
        sa.Column("message_type", sa.String(length=8), nullable=False, server_default="status"),
    )
    for table, column, target in REFERENCES:
        if _sqlite():
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(
                op.f(f"fk_{table}_{column}_{target}"), table, target, [column], ["id"]
            )
    # A document's page looks its replacements up by these.
    op.create_index(
        op.f("ix_axis_dispatches_replaces_document_id"), "axis_dispatches", ["replaces_document_id"]
    )
    op.create_index(op.f("ix_axis_received_document_id"), "axis_received", ["document_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_axis_received_document_id"), table_name="axis_received")
    op.drop_index(op.f("ix_axis_dispatches_replaces_document_id"), table_name="axis_dispatches")
    for table, column, target in reversed(REFERENCES):
        if not _sqlite():
            op.drop_constraint(op.f(f"fk_{table}_{column}_{target}"), table, type_="foreignkey")
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute("ALTER TABLE axis_status_events DROP COLUMN message_type")
    op.execute("ALTER TABLE axis_deliveries DROP COLUMN update_note")
    op.execute("ALTER TABLE axis_deliveries DROP COLUMN update_state")
