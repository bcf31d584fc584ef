"""The signing domain's job handlers that need more than one of its modules: the SIM poll, which
carries a SIM batch on once its transaction has ended."""

from __future__ import annotations

import logging

from backend.core import audit
from backend.core.jobs import ClaimedJob
from backend.signing_flow import sim, sim_batch
from backend.signing_flow.context import SigningContext

log = logging.getLogger("eoffice.signing")


async def sim_poll(res: SigningContext, job: ClaimedJob) -> None:
    """Poll the MSSP for one SIM transaction (`sim.POLL_JOB`), then open its batch's next
    document. A later attempt is a takeover (the first runner died or gave up): it is audited,
    and the screens are not told "sent" again."""
    tx_id = str(job.payload["transaction"])
    if res.signing is None:
        raise RuntimeError("SIM poll job without signing set up in this process")
    if job.attempt > 1:
        async with res.sessions() as db, db.begin():
            await audit.record(
                db,
                clock=res.clock,
                action="signing.poller_reattached",
                object_type="signing_transaction",
                object_id=tx_id,
                detail={"owner": job.lease_owner, "attempt": job.attempt},
            )
        log.info("SIM poll of %s taken over by %s", tx_id, job.lease_owner)
    batch_id = await sim.poll(res, tx_id, fresh=job.attempt == 1)
    if batch_id is not None:
        try:
            await sim_batch.advance(res, batch_id)
        except Exception:  # the sweep carries the batch on
            log.exception("SIM batch %s did not advance", batch_id)
