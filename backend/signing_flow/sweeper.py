"""The signing sweep, a periodic job (`SWEEP_JOB`, every `EVERY`, in whichever process runs
jobs first): it expires unconfirmed signing transactions, finishes interrupted ones and carries
SIM batches on. A restarted server's runners pick it up within one period. Its moves are
compare-and-set, so sweeps that overlap (two processes, or a sweep and a request) never
collide."""

from __future__ import annotations

import logging
from datetime import timedelta

from backend.core.jobs import ClaimedJob
from backend.signing_flow import run, sim, sim_batch, transactions
from backend.signing_flow.context import SigningContext
from backend.signing_flow.tables import SigningTransaction, TxState

log = logging.getLogger("eoffice.signing")
SWEEP_JOB = "signing.sweep"
EVERY = timedelta(seconds=15)


async def sweep_once(res: SigningContext) -> None:
    async with res.sessions() as db, db.begin():
        expired = await transactions.sweep(db, clock=res.clock)
    await _tell_expired(res, expired)
    if res.signing is not None:
        await run.resume(
            res.sessions, res.redis, clock=res.clock, blobs=res.blobs, setup=res.signing
        )
        await sim_batch.sweep(res)


async def sweep_job(res: SigningContext, job: ClaimedJob) -> None:
    await sweep_once(res)


async def _tell_expired(res: SigningContext, tx_ids: list[str]) -> None:
    """The SIM screens hear of a request the sweep expired (its poller was gone)."""
    for tx_id in tx_ids:
        async with res.sessions() as db:
            tx = await db.get_one(SigningTransaction, tx_id)
            if tx.method != "sim":
                continue
            await sim.publish(
                res.redis,
                user_id=tx.signer_id,
                tx_id=tx_id,
                status=TxState.EXPIRED,
                batch_id=tx.batch_id,
                document_id=tx.items[0].document_id,
                code=tx.control_code,
            )
