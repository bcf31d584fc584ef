"""agency place name (the địa danh of the date line of the documents an agency issues) and the
agency a leader signs for (symbol, seal caption and place name of what they sign)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agencies",
        sa.Column("place_name", sa.String(length=64), nullable=False, server_default=""),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("signs_for_agency_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_users_signs_for_agency_id_agencies", "agencies", ["signs_for_agency_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_signs_for_agency_id_agencies", type_="foreignkey")
        batch.drop_column("signs_for_agency_id")
    op.drop_column("agencies", "place_name")
