"""SIM-PKI confirmation: the MSSP asks the signer's phone for the SIM PIN and returns the SIM's
signature over the DTBS hash; statuses are pushed to the signer's screens over SSE.

One pending SIM transaction per signer (a partial unique index guards it in SQL). The status
poller runs in the process that sent the request; the transaction, its DTBS and the MSSP's
transaction id are in SQL, so if that process dies the transaction simply expires and nothing
is half-signed. Every value is verified against the certificate and the committed hash by the
MSS client, and again by `finish_signature`, before it is embedded.
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import audit, live
from backend.blobs import BlobStore
from backend.clock import Clock
from backend.errors import EofficeError
from backend.models import User
from backend.settings import Settings
from backend.signing_flow import run
from backend.signing_flow import transactions as tx_mod
from backend.signing_flow.setup import SigningSetup
from backend.signing_flow.tables import SigningItem, SigningTransaction
from signing.mss import MssClient, MssTransaction
from signing.mss_errors import MssError, MssExpiredError

log = logging.getLogger("eoffice.signing")
STATUS_EVENT = "signing-status"
# Pollers of this process; kept referenced so the event loop does not drop them.
_POLLERS: set[asyncio.Task[None]] = set()


def client_for(settings: Settings) -> MssClient:
    if not settings.effective_mssp_url:
        raise EofficeError(
            "Chưa cấu hình ký số qua SIM trên máy chủ.", "SIM signing is not configured."
        )
    return MssClient(
        settings.effective_mssp_url, settings.mssp_ap_id, settings.mssp_ap_password,
        time_out=settings.signing_timeout_seconds, poll_initial_wait=1.0, poll_interval=1.0,
        poll_timeout=float(settings.signing_timeout_seconds),
    )  # fmt: skip


async def _status(redis: aioredis.Redis, tx: SigningTransaction | str, user_id: int, status: str,
                  message: str = "") -> None:  # fmt: skip
    tx_id = tx if isinstance(tx, str) else tx.id
    await live.publish(
        redis, user_id, STATUS_EVENT, {"transaction": tx_id, "status": status, "message": message}
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
    """Send the signature request to the phone; the transaction moves to `awaiting`."""
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
            msisdn=signer.phone, certificate_der=certificate,
            dtbs_hash=bytes.fromhex(item.dtbs_hash), event_id=tx.control_code,
            display_text=f"eOffice: ký văn bản mã {tx.control_code}",
        )  # fmt: skip
    except MssError as exc:
        raise EofficeError(exc.message_vi, exc.message_en) from exc
    tx.mss_trans_id = mss_tx.mssp_trans_id
    await tx_mod.move(db, tx.id, clock=clock, from_states=(tx_mod.PREPARED,), to=tx_mod.AWAITING)
    await audit.record(
        db, clock=clock, action="signing.confirmation_requested", actor_id=signer.id,
        object_type="signing_transaction", object_id=tx.id,
        detail={"method": "sim", "mssp_trans_id": mss_tx.mssp_trans_id},
    )  # fmt: skip
    return mss_tx


def watch(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    clock: Clock,
    blobs: BlobStore,
    setup: SigningSetup,
    client: MssClient,
    tx_id: str,
    signer_id: int,
    mss_tx: MssTransaction,
) -> None:
    task = asyncio.create_task(
        _poll(sessions, redis, clock=clock, blobs=blobs, setup=setup, client=client,
              tx_id=tx_id, signer_id=signer_id, mss_tx=mss_tx)
    )  # fmt: skip
    _POLLERS.add(task)
    task.add_done_callback(_POLLERS.discard)


async def _poll(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    clock: Clock,
    blobs: BlobStore,
    setup: SigningSetup,
    client: MssClient,
    tx_id: str,
    signer_id: int,
    mss_tx: MssTransaction,
) -> None:
    try:
        await _status(redis, tx_id, signer_id, "sent")
        await asyncio.sleep(client.poll_initial_wait)
        await _status(redis, tx_id, signer_id, "waiting_pin")
        while True:
            async with sessions() as db, db.begin():
                tx = await db.get_one(SigningTransaction, tx_id, populate_existing=True)
                if await tx_mod.expire_if_due(db, clock=clock, tx=tx):
                    tx.status = tx_mod.EXPIRED
            if tx.status != tx_mod.AWAITING:
                await _status(redis, tx_id, signer_id, tx.status)
                return
            try:
                value = await client.poll_signature(mss_tx)
            except MssError as exc:
                to = tx_mod.EXPIRED if isinstance(exc, MssExpiredError) else tx_mod.FAILED
                async with sessions() as db, db.begin():
                    if await tx_mod.move(db, tx_id, clock=clock, from_states=(tx_mod.AWAITING,),
                                         to=to, error=exc.message_vi):  # fmt: skip
                        await audit.record(
                            db, clock=clock, action=f"signing.{to}", actor_id=signer_id,
                            object_type="signing_transaction", object_id=tx_id,
                            detail={"method": "sim", "mss_error": type(exc).__name__},
                        )  # fmt: skip
                await _status(redis, tx_id, signer_id, to, exc.message_vi)
                return
            if value is None:
                await asyncio.sleep(client.poll_interval)
                continue
            async with sessions() as db, db.begin():
                if not await tx_mod.move(db, tx_id, clock=clock, from_states=(tx_mod.AWAITING,),
                                         to=tx_mod.SIGNING):  # fmt: skip
                    return  # cancelled or expired meanwhile: the value is dropped
                item = (await db.get_one(SigningTransaction, tx_id)).items[0]
                await db.get_one(SigningItem, item.id)
                item.signature_value = value
                await audit.record(
                    db, clock=clock, action="signing.confirmed", actor_id=signer_id,
                    object_type="signing_transaction", object_id=tx_id, detail={"method": "sim"},
                )  # fmt: skip
            await _status(redis, tx_id, signer_id, "signing")
            done = await run.execute(
                sessions, redis, clock=clock, blobs=blobs, setup=setup, tx_id=tx_id
            )
            message = "" if done.status == tx_mod.COMPLETED else done.items[0].error
            await _status(redis, tx_id, signer_id, done.status, message)
            return
    except Exception:
        log.exception("SIM poller of %s failed", tx_id)
        await _status(redis, tx_id, signer_id, tx_mod.FAILED)
    finally:
        await client.aclose()


def background_tasks() -> list[asyncio.Task[None]]:
    return list(_POLLERS)
