"""background work on the jobs table: the SIM poll becomes a job

The SIM poller's lease moves from signing_transactions to the jobs table: a SIM transaction
awaiting its PIN at the upgrade gets its poll job here (`signing.sim_poll`, as
`backend.signing_flow.sim.start` queues it now), and the transaction's lease columns go.

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


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    awaiting = bind.execute(
        sa.text(
            "SELECT id FROM signing_transactions"
            " WHERE method = 'sim' AND status = 'awaiting' AND mss_trans_id != ''"
        )
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
    rows = [
        {"kind": POLL_JOB, "payload": {"transaction": tx_id}, "run_at": now, "attempts": 0,
         "max_attempts": 5, "status": "queued", "idempotency_key": f"{POLL_JOB}:{tx_id}",
         "created_at": now}
        for tx_id in awaiting
    ]  # fmt: skip
    if rows:
        op.bulk_insert(jobs, rows)
    with op.batch_alter_table("signing_transactions") as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")


def downgrade() -> None:
    with op.batch_alter_table("signing_transactions") as batch_op:
        batch_op.add_column(
            sa.Column("lease_owner", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("DELETE FROM jobs WHERE kind = :poll").bindparams(poll=POLL_JOB))
