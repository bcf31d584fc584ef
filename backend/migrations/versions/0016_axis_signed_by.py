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
    with op.batch_alter_table("axis_dispatches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("signed_by", sa.String(length=512), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("axis_dispatches", schema=None) as batch_op:
        batch_op.drop_column("signed_by")
