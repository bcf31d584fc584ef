"""The axis' agency directory kept in step: a delta every hour (getSynchronizeUnit: what changed
since this system last asked, deletions included) and the whole list once a day
(getAgenciesList: what a delta may have missed is flagged, nothing is deleted). Both only when
this server talks to an axis; each run's counts go to the audit log (`directory_sync.sync`)."""

from __future__ import annotations

from datetime import timedelta

from backend.core.jobs import ClaimedJob
from backend.interchange import connection
from backend.interchange.context import ExchangeContext
from backend.interchange.directory_sync import sync

DELTA_JOB = "interchange.directory_delta"
FULL_JOB = "interchange.directory_full"
DELTA_EVERY = timedelta(hours=1)
FULL_EVERY = timedelta(days=1)


async def delta_job(ctx: ExchangeContext, job: ClaimedJob) -> None:
    if not connection.configured(ctx.settings):
        return
    async with connection.client(ctx.settings) as axis:
        rows = await axis.synchronize_units()
    async with ctx.sessions() as db, db.begin():
        await sync(db, clock=ctx.clock, rows=rows, full=False)


async def full_job(ctx: ExchangeContext, job: ClaimedJob) -> None:
    if not connection.configured(ctx.settings):
        return
    async with connection.client(ctx.settings) as axis:
        rows = await axis.agencies()
    async with ctx.sessions() as db, db.begin():
        await sync(db, clock=ctx.clock, rows=rows, full=True)
