"""archive horizon: until when a B-LTA file version's newest document timestamp proves existence

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no constraint), not a batch rebuild: rows elsewhere point
    # at file versions.
    op.add_column("file_versions", sa.Column("archive_until", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_file_versions_archive_until",
        "file_versions",
        ["archive_until"],
        postgresql_where=sa.text("archive_until IS NOT NULL"),
        sqlite_where=sa.text("archive_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_file_versions_archive_until", table_name="file_versions")
    op.execute("ALTER TABLE file_versions DROP COLUMN archive_until")
