"""A jobs runner in its own process, for a test that kills it with SIGKILL mid-job.

    python -m tests.support.job_worker DATABASE_URL LEASE_SECONDS

It runs jobs of kind `block`: the handler records its effect in the test's `job_effects`
table (idempotently, keyed by job id), commits, and then never returns. The lease is renewed
while the process lives, so only its death lets another worker take the job over.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import db
from backend.core.clock import SystemClock
from backend.core.jobs import ClaimedJob, Policy, Registry, Runner

WORKER_NAME = "doomed"
BLOCKING_KIND = "block"

registry: Registry[async_sessionmaker[AsyncSession]] = Registry()


async def record_effect(sessions: async_sessionmaker[AsyncSession], job_id: int, by: str) -> None:
    """The job's effect, safe to repeat: one row per job whoever runs it how often."""
    async with sessions() as s, s.begin():
        await s.execute(
            text(
                "INSERT INTO job_effects (job_id, worker) VALUES (:id, :by) ON CONFLICT DO NOTHING"
            ),
            {"id": job_id, "by": by},
        )


@registry.handler(BLOCKING_KIND)
async def block(sessions: async_sessionmaker[AsyncSession], job: ClaimedJob) -> None:
    await record_effect(sessions, job.id, WORKER_NAME)
    await asyncio.Event().wait()


async def main(url: str, lease_seconds: float) -> None:
    engine = db.create_engine(url)
    sessions = db.sessionmaker(engine)
    policy = Policy(
        lease=timedelta(seconds=lease_seconds),
        heartbeat_seconds=lease_seconds / 4,
        poll_seconds=0.05,
    )
    runner = Runner(
        sessions=sessions,
        registry=registry,
        context=sessions,
        clock=SystemClock(),
        policy=policy,
        name=WORKER_NAME,
    )
    await runner.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
