"""workflow: deadlines with an hour, requests for direction, milestones, progress files,
idempotent progress reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


ROLES_BEFORE = "role IN ('admin', 'leader', 'unit_head', 'specialist', 'clerk')"
ROLES_AFTER = "role IN ('admin', 'leader', 'office_chief', 'unit_head', 'specialist', 'clerk')"


def _roles(check: str) -> None:
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_roles_known_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_user_roles_known_role"), check)


def _sqlite_retype(
    old: sa.types.TypeEngine[object], new: sa.types.TypeEngine[object], update: str
) -> None:
    # A batch type change copies with CAST(... AS DATE|DATETIME), which SQLite's numeric affinity
    # turns into 2026: copy through a new column instead.
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_state_deadline")
        batch_op.add_column(sa.Column("deadline_new", new, nullable=True))
    op.execute(update)
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("deadline")
        batch_op.alter_column("deadline_new", new_column_name="deadline", existing_type=new)
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index("ix_assignments_state_deadline", ["state", "deadline"], unique=False)


def upgrade() -> None:
    # The office chief (Chánh Văn phòng) routes incoming documents.
    _roles(ROLES_AFTER)
    bind = op.get_bind()
    # A date-only deadline meant the end of that working day: 17:00 in Hà Nội (10:00 UTC; Vietnam
    # has no daylight saving time). SQLite keeps UTC wall time as text, PostgreSQL a timestamptz.
    if bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE assignments ALTER COLUMN deadline TYPE TIMESTAMP WITH TIME ZONE "
            "USING (deadline + TIME '17:00') AT TIME ZONE 'Asia/Ho_Chi_Minh'"
        )
    else:
        _sqlite_retype(
            sa.Date(),
            sa.DateTime(timezone=True),
            "UPDATE assignments SET deadline_new = deadline || ' 10:00:00.000000'",
        )

    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            "uq_timeline_events_actor_client_key", ["actor_id", "client_key"]
        )

    op.create_table(
        "direction_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_direction_requests_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["users.id"], name=op.f("fk_direction_requests_leader_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_direction_requests_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direction_requests")),
    )
    with op.batch_alter_table("direction_requests", schema=None) as batch_op:
        batch_op.create_index("ix_direction_requests_document", ["document_id"], unique=False)
        batch_op.create_index(
            "ix_direction_requests_leader_open", ["leader_id", "closed_at"], unique=False
        )

    op.create_table(
        "assignment_milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_assignment_milestones_assignment_id_assignments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_milestones")),
    )
    with op.batch_alter_table("assignment_milestones", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignment_milestones_assignment", ["assignment_id", "position"], unique=False
        )

    op.create_table(
        "progress_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_progress_files_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["timeline_events.id"],
            name=op.f("fk_progress_files_event_id_timeline_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_files")),
    )
    with op.batch_alter_table("progress_files", schema=None) as batch_op:
        batch_op.create_index("ix_progress_files_event", ["event_id"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM user_roles WHERE role = 'office_chief'")
    _roles(ROLES_BEFORE)
    with op.batch_alter_table("progress_files", schema=None) as batch_op:
        batch_op.drop_index("ix_progress_files_event")
    op.drop_table("progress_files")
    with op.batch_alter_table("assignment_milestones", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_milestones_assignment")
    op.drop_table("assignment_milestones")
    with op.batch_alter_table("direction_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_direction_requests_leader_open")
        batch_op.drop_index("ix_direction_requests_document")
    op.drop_table("direction_requests")
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_timeline_events_actor_client_key", type_="unique")
        batch_op.drop_column("client_key")

    bind = op.get_bind()
    # Back to the day in Hà Nội (the hour is lost).
    if bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE assignments ALTER COLUMN deadline TYPE DATE "
            "USING (deadline AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"
        )
    else:
        _sqlite_retype(
            sa.DateTime(timezone=True),
            sa.Date(),
            "UPDATE assignments SET deadline_new = date(deadline, '+7 hours')",
        )
