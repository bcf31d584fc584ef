"""dashboard indexes: the leader's figures aggregated in SQL at a million documents

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_documents_dashboard",
        "documents",
        ["agency_id", "direction", "created_at", "unit_id", "status", "id"],
    )
    op.create_index(
        "ix_assignments_lead",
        "assignments",
        ["document_id", "parent_id", "user_id", "state", "deadline", "created_at", "closed_at"],
        postgresql_where=sa.text("part = 'lead'"),
        sqlite_where=sa.text("part = 'lead'"),
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_lead", table_name="assignments")
    op.drop_index("ix_documents_dashboard", table_name="documents")
