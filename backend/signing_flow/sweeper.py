"""The background task that expires unconfirmed signing transactions, finishes interrupted ones,
takes over SIM transactions whose poller's process died and carries SIM batches on, in every
server process (the moves are compare-and-set, so processes never collide). It runs once soon
after start-up — a restarted server picks up what it left — and then every 15 seconds."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from backend.signing_flow import run, sim, sim_batch, transactions
from backend.signing_flow.context import SigningContext
from backend.signing_flow.tables import SigningTransaction, TxState

log = logging.getLogger("eoffice.signing")
INTERVAL_SECONDS = 15.0
FIRST_SECONDS = 2.0


async def sweep_once(res: SigningContext) -> None:
    async with res.sessions() as db, db.begin():
        expired = await transactions.sweep(db, clock=res.clock)
    await _tell_expired(res, expired)
    if res.signing is not None:
        await run.resume(
            res.sessions, res.redis, clock=res.clock, blobs=res.blobs, setup=res.signing
        )
        await sim.reattach(res, on_batch=functools.partial(sim_batch.advance, res))
        await sim_batch.sweep(res)


async def _tell_expired(res: SigningContext, tx_ids: list[str]) -> None:
    """The SIM screens hear of a request the sweeper expired (its poller was gone)."""
    for tx_id in tx_ids:
        async with res.sessions() as db:
            tx = await db.get_one(SigningTransaction, tx_id)
            if tx.method != "sim":
                continue
            await sim.publish(
                res.redis, user_id=tx.signer_id, tx_id=tx_id, status=TxState.EXPIRED,
                batch_id=tx.batch_id, document_id=tx.items[0].document_id, code=tx.control_code,
            )  # fmt: skip


async def _loop(res: SigningContext) -> None:
    wait = FIRST_SECONDS
    while True:
        await asyncio.sleep(wait)
        wait = INTERVAL_SECONDS
        try:
            await sweep_once(res)
        except Exception:  # a bad round must not stop the next one
            log.exception("signing sweep failed")


@contextlib.asynccontextmanager
async def sweeping(res: SigningContext) -> AsyncIterator[None]:
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
