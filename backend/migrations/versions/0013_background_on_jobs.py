"""background work on the jobs table: SIM polls and push sends become jobs

The SIM poller's lease moves from signing_transactions to the jobs table: a SIM transaction
awaiting its PIN at the upgrade gets its poll job here (`signing.sim_poll`, as
`backend.signing_flow.sim.start` queues it now). Push notices are sent by one job each
(`push.send`, queued by `backend.push.outbox.enqueue`) instead of the relay to a Redis stream: an
unfinished notice gets its job here, and the relay's columns go.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

POLL_JOB = "signing.sim_poll"
SEND_JOB = "push.send"


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    awaiting = bind.execute(
        sa.text(
            "SELECT id FROM signing_transactions"
            " WHERE method = 'sim' AND status = 'awaiting' AND mss_trans_id != ''"
        )
    ).scalars()
    unsent = bind.execute(
        sa.text("SELECT id FROM push_outbox WHERE delivered_at IS NULL AND dead_at IS NULL")
    ).scalars()
    jobs = sa.table(
        "jobs",
        sa.column("kind", sa.String),
        sa.column("payload", sa.JSON),
        sa.column("run_at", sa.DateTime(timezone=True)),
        sa.column("attempts", sa.Integer),
        sa.column("max_attempts", sa.Integer),
        sa.column("status", sa.String),
        sa.column("idempotency_key", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    common = {"run_at": now, "attempts": 0, "status": "queued", "created_at": now}
    rows = [
        {
            **common,
            "kind": POLL_JOB,
            "payload": {"transaction": tx_id},
            "max_attempts": 5,
            "idempotency_key": f"{POLL_JOB}:{tx_id}",
        }
        for tx_id in awaiting
    ] + [
        {
            **common,
            "kind": SEND_JOB,
            "payload": {"notice": notice_id},
            "max_attempts": 50,
            "idempotency_key": f"{SEND_JOB}:{notice_id}",
        }
        for notice_id in unsent
    ]
    if rows:
        op.bulk_insert(jobs, rows)
    with op.batch_alter_table("signing_transactions") as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
    with op.batch_alter_table("push_outbox") as batch_op:
        batch_op.drop_index("ix_push_outbox_pending")
        batch_op.drop_column("relayed_at")
        batch_op.drop_column("not_before")
        batch_op.create_index("ix_push_outbox_dead_at", ["dead_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_outbox") as batch_op:
        batch_op.drop_index("ix_push_outbox_dead_at")
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE push_outbox SET not_before = created_at"))
    with op.batch_alter_table("push_outbox") as batch_op:
        batch_op.alter_column(
            "not_before", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index(
            "ix_push_outbox_pending", ["delivered_at", "dead_at", "not_before"], unique=False
        )
    with op.batch_alter_table("signing_transactions") as batch_op:
        batch_op.add_column(
            sa.Column("lease_owner", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        sa.text("DELETE FROM jobs WHERE kind IN (:poll, :send)").bindparams(
            poll=POLL_JOB, send=SEND_JOB
        )
    )
