"""SIM-PKI confirmation: the MSSP asks the signer's phone for the SIM PIN and returns the SIM's
signature over the DTBS hash; statuses are pushed to the signer's screens over SSE.

One pending SIM transaction per signer (a partial unique index guards it in SQL). `start` sends
the request and, in the same SQL transaction, enqueues the job that polls the MSSP for the
answer (`POLL_JOB`, run by `poll` through `backend.signing_flow.jobs`). Everything the poller
needs — the DTBS hash, the MSSP's transaction id, the control code — is in SQL, so when its
process dies the job's lease lapses and a runner of any process takes the poll over; the
compare-and-set moves make sure exactly one of them signs. Every value is verified against the
certificate and the committed hash by the MSS client, and again by `finish_signature`, before
it is embedded.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, jobs, live
from backend.core.clock import Clock
from backend.core.errors import EofficeError
from backend.core.models import User
from backend.core.settings import Settings
from backend.signing_flow import run
from backend.signing_flow import transactions as tx_mod
from backend.signing_flow.context import SigningContext
from backend.signing_flow.setup import SigningSetup
from backend.signing_flow.tables import SigningItem, SigningTransaction, TxState
from signing.mss import MssClient, MssTransaction
from signing.mss_errors import MssError, MssExpiredError

log = logging.getLogger("eoffice.signing")
STATUS_EVENT = "signing-status"
# The job that polls the MSSP for one transaction's answer: {"transaction": id}.
POLL_JOB = "signing.sim_poll"


def client_for(settings: Settings) -> MssClient:
    if not settings.effective_mssp_url:
        raise EofficeError(
            "Chưa cấu hình ký số qua SIM trên máy chủ.", "SIM signing is not configured."
        )
    return MssClient(
        settings.effective_mssp_url,
        settings.mssp_ap_id,
        settings.mssp_ap_password,
        time_out=settings.signing_timeout_seconds,
        poll_initial_wait=1.0,
        poll_interval=1.0,
        poll_timeout=float(settings.signing_timeout_seconds),
    )


@dataclass(frozen=True)
class Watched:
    """What the poller knows about its transaction, all read back from SQL."""

    tx_id: str
    signer_id: int
    batch_id: str | None
    document_id: int
    control_code: str
    mss_tx: MssTransaction


async def publish(
    redis: aioredis.Redis,
    *,
    user_id: int,
    tx_id: str,
    status: str,
    message: str = "",
    batch_id: str | None = None,
    document_id: int | None = None,
    code: str = "",
) -> None:
    """One status of a SIM transaction (or of a batch's document that has none yet)."""
    data: dict[str, object] = {"transaction": tx_id, "status": status, "message": message}
    if batch_id is not None:
        data.update(batch=batch_id, document=document_id, code=code)
    await live.publish(redis, user_id, STATUS_EVENT, data)


async def _status(redis: aioredis.Redis, watched: Watched, status: str, message: str = "") -> None:
    await publish(
        redis,
        user_id=watched.signer_id,
        tx_id=watched.tx_id,
        status=status,
        message=message,
        batch_id=watched.batch_id,
        document_id=watched.document_id,
        code=watched.control_code,
    )


async def start(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    clock: Clock,
    setup: SigningSetup,
    client: MssClient,
    tx: SigningTransaction,
    signer: User,
) -> MssTransaction:
    """Send the signature request to the phone; the transaction moves to `awaiting` and its
    poll job is queued (kick the runners after the commit: `jobs.kick`)."""
    if not signer.phone:
        raise EofficeError(
            "Tài khoản của bạn chưa có số điện thoại ký số SIM.",
            "Your account has no SIM signing phone number.",
        )
    if len(tx.items) != 1:
        raise EofficeError(
            "Mỗi lần ký qua SIM chỉ ký một văn bản.", "A SIM signature covers one document."
        )
    item = tx.items[0]
    try:
        certificate = await client.request_certificate(msisdn=signer.phone)
        if certificate != setup.cert(signer.username).dump():
            raise EofficeError(
                "Chứng thư số trên SIM không khớp với chứng thư đã đăng ký.",
                "The SIM's certificate is not the one registered for you.",
            )
        mss_tx = await client.start_signature(
            msisdn=signer.phone,
            certificate_der=certificate,
            dtbs_hash=bytes.fromhex(item.dtbs_hash),
            event_id=tx.control_code,
            display_text=f"eOffice: ký văn bản mã {tx.control_code}",
        )
    except MssError as exc:
        raise EofficeError(exc.message_vi, exc.message_en) from exc
    tx.mss_trans_id = mss_tx.mssp_trans_id
    await tx_mod.move(db, tx.id, clock=clock, from_states=(TxState.PREPARED,), to=TxState.AWAITING)
    await jobs.enqueue(
        db,
        clock=clock,
        kind=POLL_JOB,
        payload={"transaction": tx.id},
        idempotency_key=f"{POLL_JOB}:{tx.id}",
    )
    await audit.record(
        db,
        clock=clock,
        action="signing.confirmation_requested",
        actor_id=signer.id,
        object_type="signing_transaction",
        object_id=tx.id,
        detail={"method": "sim", "mssp_trans_id": mss_tx.mssp_trans_id},
    )
    return mss_tx


async def _load(res: SigningContext, tx_id: str) -> Watched:
    assert res.signing is not None
    async with res.sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id, populate_existing=True)
        signer = await db.get_one(User, tx.signer_id)
        item = tx.items[0]
        return Watched(
            tx_id=tx.id,
            signer_id=signer.id,
            batch_id=tx.batch_id,
            document_id=item.document_id,
            control_code=tx.control_code,
            mss_tx=MssTransaction(
                ap_trans_id="",
                mssp_trans_id=tx.mss_trans_id,
                msisdn=signer.phone or "",
                dtbs_hash=bytes.fromhex(item.dtbs_hash),
                certificate_der=res.signing.cert(signer.username).dump(),
                event_id=tx.control_code,
                started_at=0.0,
            ),
        )


async def poll(res: SigningContext, tx_id: str, *, fresh: bool) -> str | None:
    """Poll the MSSP until the transaction ends (signed, failed, expired or cancelled) and
    tell the signer's screens each step; returns its batch id, if it was one step of a batch.

    `fresh`: the request has just been sent (the first run of its job), so the screens hear
    "sent" and the phone gets a moment before the first poll. Run as a job: an exception
    leaves the transaction in SQL for the job's next attempt.
    """
    clock, redis, sessions = res.clock, res.redis, res.sessions
    assert res.signing is not None
    client = client_for(res.settings)
    try:
        watched = await _load(res, tx_id)
        if fresh:
            await _status(redis, watched, "sent")
            await asyncio.sleep(client.poll_initial_wait)
        await _status(redis, watched, "waiting_pin")
        while True:
            async with sessions() as db, db.begin():
                tx = await db.get_one(SigningTransaction, tx_id, populate_existing=True)
                status = tx.status
                if await tx_mod.expire_if_due(db, clock=clock, tx=tx):
                    status = TxState.EXPIRED
            if status != TxState.AWAITING:
                await _status(redis, watched, status)
                break
            try:
                value = await client.poll_signature(watched.mss_tx)
            except MssError as exc:
                to = TxState.EXPIRED if isinstance(exc, MssExpiredError) else TxState.FAILED
                async with sessions() as db, db.begin():
                    if await tx_mod.move(
                        db,
                        tx_id,
                        clock=clock,
                        from_states=(TxState.AWAITING,),
                        to=to,
                        error=exc.message_vi,
                    ):
                        await audit.record(
                            db,
                            clock=clock,
                            action=f"signing.{to}",
                            actor_id=watched.signer_id,
                            object_type="signing_transaction",
                            object_id=tx_id,
                            detail={"method": "sim", "mss_error": type(exc).__name__},
                        )
                await _status(redis, watched, to, exc.message_vi)
                break
            if value is None:
                await asyncio.sleep(client.poll_interval)
                continue
            async with sessions() as db, db.begin():
                if not await tx_mod.move(
                    db, tx_id, clock=clock, from_states=(TxState.AWAITING,), to=TxState.SIGNING
                ):
                    # Cancelled or expired meanwhile: the value is dropped.
                    return watched.batch_id
                item = (await db.get_one(SigningTransaction, tx_id)).items[0]
                await db.get_one(SigningItem, item.id)
                item.signature_value = value
                await audit.record(
                    db,
                    clock=clock,
                    action="signing.confirmed",
                    actor_id=watched.signer_id,
                    object_type="signing_transaction",
                    object_id=tx_id,
                    detail={"method": "sim"},
                )
            await _status(redis, watched, "signing")
            done = await run.execute(
                sessions, redis, clock=clock, blobs=res.blobs, setup=res.signing, tx_id=tx_id
            )
            message = "" if done.status == TxState.COMPLETED else done.items[0].error
            await _status(redis, watched, done.status, message)
            break
    finally:
        await client.aclose()
    return watched.batch_id
