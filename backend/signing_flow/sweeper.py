"""The background task that expires unconfirmed signing transactions and finishes interrupted
ones, in every server process (the moves are compare-and-set, so processes never collide)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from backend.resources import Resources
from backend.signing_flow import run, sim, transactions

log = logging.getLogger("eoffice.signing")
INTERVAL_SECONDS = 15.0


async def sweep_once(res: Resources) -> None:
    async with res.sessions() as db, db.begin():
        await transactions.sweep(db, clock=res.clock)
    if res.signing is not None:
        await run.resume(
            res.sessions, res.redis, clock=res.clock, blobs=res.blobs, setup=res.signing
        )


async def _loop(res: Resources) -> None:
    while True:
        await asyncio.sleep(INTERVAL_SECONDS)
        try:
            await sweep_once(res)
        except Exception:  # a bad round must not stop the next one
            log.exception("signing sweep failed")


@contextlib.asynccontextmanager
async def sweeping(res: Resources) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(res))
    try:
        yield
    finally:
        # Background work of this process (SIM pollers, batch panel checks) ends with it; what
        # it leaves unfinished is in SQL and expires or is resumed by the next sweep.
        pending = [task, *run.background_tasks(), *sim.background_tasks()]
        for each in pending:
            each.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
