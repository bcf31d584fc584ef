"""who signs for whom: signing grants (HEAD, KT., Q., TL., TUQ.), absences, a draft's grant

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("head_title", sa.String(length=128), nullable=False),
        sa.Column("types", sa.String(length=255), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("decision_ref", sa.String(length=255), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_signing_grants_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_signing_grants_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_signing_grants_revoked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_signing_grants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_grants")),
    )
    op.create_index(
        op.f("ix_signing_grants_agency_id"), "signing_grants", ["agency_id"], unique=False
    )
    op.create_index(op.f("ix_signing_grants_user_id"), "signing_grants", ["user_id"], unique=False)
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_absences_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_absences_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["users.id"], name=op.f("fk_absences_deputy_id_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_absences_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    op.create_index(op.f("ix_absences_agency_id"), "absences", ["agency_id"], unique=False)
    op.create_index(op.f("ix_absences_deputy_id"), "absences", ["deputy_id"], unique=False)
    op.create_index(op.f("ix_absences_user_id"), "absences", ["user_id"], unique=False)
    # A plain ADD COLUMN (see 0016): on SQLite with its REFERENCES clause inline (it cannot add
    # a constraint later), elsewhere the column and then its named constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE document_drafts ADD COLUMN grant_id INTEGER REFERENCES signing_grants (id)"
        )
    else:
        op.add_column("document_drafts", sa.Column("grant_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_document_drafts_grant_id_signing_grants"),
            "document_drafts",
            "signing_grants",
            ["grant_id"],
            ["id"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("fk_document_drafts_grant_id_signing_grants"), "document_drafts", "foreignkey"
        )
    # SQLite drops a column whose only constraint is its inline REFERENCES.
    op.execute("ALTER TABLE document_drafts DROP COLUMN grant_id")
    op.drop_table("absences")
    op.drop_table("signing_grants")
