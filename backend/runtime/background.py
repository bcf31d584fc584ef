"""Every kind of background job, and the runner that runs them in this process.

One registry for the whole app, so that the server's lifespan and `eoffice worker` run the same
kinds; `schedule` is the periodic work. Handlers live in their domains and take the process's
`Resources` as their context (each asks only for the protocol it needs).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from backend.core import jobs
from backend.core.jobs import ClaimedJob, Periodic, Registry, Runner
from backend.core.settings import Settings
from backend.interchange import connection, directory_jobs, inbox, outbox, statuses
from backend.runtime.resources import Resources
from backend.signing_flow import archive, results, sim, sweeper
from backend.signing_flow import jobs as signing_jobs
from backend.workflow import reminders

__all__ = ["PRUNE_JOB", "registry", "runner", "runner_policy", "running", "schedule"]

PRUNE_JOB = "jobs.prune"
# Finished jobs are kept this long (for a look at what ran), then pruned.
KEEP = timedelta(days=7)


async def prune_job(res: Resources, job: ClaimedJob) -> None:
    async with res.sessions() as db, db.begin():
        await jobs.prune(db, before=res.clock.now() - KEEP)


def registry() -> Registry[Resources]:
    kinds: Registry[Resources] = Registry()
    kinds.register(sim.POLL_JOB, signing_jobs.sim_poll)
    kinds.register(results.CHECK_JOB, results.check_job)
    kinds.register(sweeper.SWEEP_JOB, sweeper.sweep_job)
    kinds.register(archive.RENEW_JOB, archive.renew_job)
    kinds.register(reminders.REMINDERS_JOB, reminders.run_job)
    kinds.register(PRUNE_JOB, prune_job)
    kinds.register(outbox.SEND_JOB, outbox.send_job)
    kinds.register(statuses.SEND_STATUS_JOB, statuses.send_job)
    kinds.register(inbox.POLL_JOB, inbox.poll_job)
    kinds.register(inbox.CHECK_JOB, inbox.check_job)
    kinds.register(directory_jobs.DELTA_JOB, directory_jobs.delta_job)
    kinds.register(directory_jobs.FULL_JOB, directory_jobs.full_job)
    return kinds


def schedule(settings: Settings) -> list[Periodic]:
    periodic = [
        Periodic(sweeper.SWEEP_JOB, every=sweeper.EVERY),
        Periodic(reminders.REMINDERS_JOB, every=reminders.EVERY),
        Periodic(archive.RENEW_JOB, every=archive.EVERY),
        Periodic(PRUNE_JOB, every=timedelta(hours=1)),
    ]
    if connection.configured(settings):
        periodic += [
            Periodic(inbox.POLL_JOB, every=timedelta(seconds=settings.axis_poll_seconds)),
            Periodic(directory_jobs.DELTA_JOB, every=directory_jobs.DELTA_EVERY),
            Periodic(directory_jobs.FULL_JOB, every=directory_jobs.FULL_EVERY),
        ]
    return periodic


def runner_policy(settings: Settings) -> jobs.Policy:
    lease = timedelta(seconds=settings.jobs_lease_seconds)
    return jobs.Policy(
        lease=lease,
        heartbeat_seconds=lease.total_seconds() / 4,
        poll_seconds=min(5.0, lease.total_seconds() / 4),
        concurrency=settings.jobs_concurrency,
        retry_base=timedelta(seconds=settings.jobs_retry_seconds),
    )


def runner(res: Resources) -> Runner[Resources]:
    return Runner(
        sessions=res.sessions,
        registry=registry(),
        context=res,
        clock=res.clock,
        policy=runner_policy(res.settings),
        redis=res.redis,
        schedule=schedule(res.settings) if res.settings.scheduler else (),
    )


@contextlib.asynccontextmanager
async def running(
    res: Resources, *, grace_seconds: float = 5.0
) -> AsyncIterator[Runner[Resources]]:
    """The runner of this process, started and, on the way out, stopped: what is still running
    after `grace_seconds` is cancelled and handed back to the queue."""
    background = runner(res)
    await background.start()
    try:
        yield background
    finally:
        await background.stop(grace_seconds=grace_seconds)
