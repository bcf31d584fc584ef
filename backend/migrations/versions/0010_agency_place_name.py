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
    # Not a batch rebuild of `users` on SQLite: with foreign keys on and rows pointing at
    # users, dropping the old table fails. SQLite adds a nullable column with its REFERENCES
    # clause in place; PostgreSQL adds the column, then the named constraint.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if "signs_for_agency_id" in {c["name"] for c in sa.inspect(bind).get_columns("users")}:
            return  # kept by a SQLite downgrade (see below)
        # (Alembic refuses a column with a constraint on SQLite; the statement is fixed text.)
        op.execute(
            "ALTER TABLE users ADD COLUMN signs_for_agency_id INTEGER "
            "CONSTRAINT fk_users_signs_for_agency_id_agencies REFERENCES agencies (id)"
        )
    else:
        op.add_column("users", sa.Column("signs_for_agency_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_users_signs_for_agency_id_agencies",
            "users",
            "agencies",
            ["signs_for_agency_id"],
            ["id"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column that carries a foreign key without rebuilding the table,
        # which fails with rows pointing at users: the (nullable, unused) column stays.
        op.execute("UPDATE users SET signs_for_agency_id = NULL")
    else:
        op.drop_constraint("fk_users_signs_for_agency_id_agencies", "users", type_="foreignkey")
        op.drop_column("users", "signs_for_agency_id")
    op.drop_column("agencies", "place_name")
