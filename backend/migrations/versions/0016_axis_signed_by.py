"""the seal a sent packet was signed with (XML-DSig): empty when it went unsigned

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch rebuild: on SQLite a rebuild rewrites 0015's column
    # references as table constraints, and dropping those columns on downgrade then fails).
    op.add_column(
        "axis_dispatches",
        sa.Column("signed_by", sa.String(length=512), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE axis_dispatches DROP COLUMN signed_by")
