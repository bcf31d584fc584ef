"""SIM-PKI confirmation: the MSSP asks the signer's phone for the SIM PIN and returns the SIM's
signature over the DTBS hash; statuses are pushed to the signer's screens over SSE.

One pending SIM transaction per signer (a partial unique index guards it in SQL). The status
poller holds a lease on its transaction (`lease_owner`, `lease_until`) and renews it while it
polls. Everything it needs — the DTBS hash, the MSSP's transaction id, the control code — is in
SQL, so when its process dies the lease lapses and the sweeper of any process takes the
transaction over (`reattach`); the compare-and-set moves make sure exactly one of them signs.
Every value is verified against the certificate and the committed hash by the MSS client, and
again by `finish_signature`, before it is embedded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis.asyncio as aioredis
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, live
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
# Who holds a lease: this process, distinguishable from a restarted one with the same pid.
OWNER = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
# A poller renews its lease when less than half is left; a lapsed lease is taken over.
LEASE = timedelta(seconds=8)
# Pollers of this process; kept referenced so the event loop does not drop them.
_POLLERS: set[asyncio.Task[None]] = set()
# What carries a batch on after one of its transactions ends: called with the batch id.
OnBatch = Callable[[str], Awaitable[object]]


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
    redis: aioredis.Redis, *, user_id: int, tx_id: str, status: str, message: str = "",
    batch_id: str | None = None, document_id: int | None = None, code: str = "",
) -> None:  # fmt: skip
    """One status of a SIM transaction (or of a batch's document that has none yet)."""
    data: dict[str, object] = {"transaction": tx_id, "status": status, "message": message}
    if batch_id is not None:
        data.update(batch=batch_id, document=document_id, code=code)
    await live.publish(redis, user_id, STATUS_EVENT, data)


async def _status(redis: aioredis.Redis, watched: Watched, status: str, message: str = "") -> None:
    await publish(
        redis, user_id=watched.signer_id, tx_id=watched.tx_id, status=status, message=message,
        batch_id=watched.batch_id, document_id=watched.document_id, code=watched.control_code,
    )  # fmt: skip


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
    """Send the signature request to the phone; the transaction moves to `awaiting`, leased
    to this process."""
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
    tx.lease_owner, tx.lease_until = OWNER, clock.now() + LEASE
    await tx_mod.move(db, tx.id, clock=clock, from_states=(TxState.PREPARED,), to=TxState.AWAITING)
    await audit.record(
        db, clock=clock, action="signing.confirmation_requested", actor_id=signer.id,
        object_type="signing_transaction", object_id=tx.id,
        detail={"method": "sim", "mssp_trans_id": mss_tx.mssp_trans_id},
    )  # fmt: skip
    return mss_tx


async def _renew(db: AsyncSession, tx_id: str, *, clock: Clock) -> datetime | None:
    """Extend this process's lease; None when another process holds it now."""
    until = clock.now() + LEASE
    result = await db.execute(
        update(SigningTransaction)
        .where(SigningTransaction.id == tx_id, SigningTransaction.lease_owner == OWNER)
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return until if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def _claim(db: AsyncSession, tx_id: str, *, clock: Clock) -> bool:
    """Take over a SIM transaction whose poller's lease lapsed (compare-and-set)."""
    now = clock.now()
    result = await db.execute(
        update(SigningTransaction)
        .where(
            SigningTransaction.id == tx_id,
            SigningTransaction.method == "sim",
            SigningTransaction.status == TxState.AWAITING,
            SigningTransaction.mss_trans_id != "",
            or_(SigningTransaction.lease_until.is_(None), SigningTransaction.lease_until < now),
        )
        .values(lease_owner=OWNER, lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def reattach(res: SigningContext, *, on_batch: OnBatch | None = None) -> list[str]:
    """Attach a poller of this process to every awaiting SIM transaction nobody polls
    (`on_batch` as in `watch`)."""
    if res.signing is None or not res.settings.effective_mssp_url:
        return []
    now = res.clock.now()
    async with res.sessions() as db:
        orphans = list(
            await db.scalars(
                select(SigningTransaction.id).where(
                    SigningTransaction.method == "sim",
                    SigningTransaction.status == TxState.AWAITING,
                    SigningTransaction.mss_trans_id != "",
                    SigningTransaction.expires_at > now,
                    or_(
                        SigningTransaction.lease_until.is_(None),
                        SigningTransaction.lease_until < now,
                    ),
                )
            )
        )
    taken = []
    for tx_id in orphans:
        async with res.sessions() as db, db.begin():
            claimed = await _claim(db, tx_id, clock=res.clock)
            if claimed:
                await audit.record(
                    db, clock=res.clock, action="signing.poller_reattached",
                    object_type="signing_transaction", object_id=tx_id, detail={"owner": OWNER},
                )  # fmt: skip
        if claimed:
            log.info("SIM poller of %s re-attached in %s", tx_id, OWNER)
            watch(res, tx_id, fresh=False, on_batch=on_batch)
            taken.append(tx_id)
    return taken


def watch(
    res: SigningContext, tx_id: str, *, fresh: bool = True, on_batch: OnBatch | None = None
) -> None:
    """Poll the MSSP for `tx_id` in the background of this process (it holds the lease).

    `on_batch(batch_id)` runs when the transaction was one step of a batch and has ended, to
    send the batch's next document (`sim_batch.advance`); a failure there is logged, and the
    sweeper carries the batch on.
    """
    task = asyncio.create_task(_poll(res, tx_id, fresh=fresh, on_batch=on_batch))
    _POLLERS.add(task)
    task.add_done_callback(_POLLERS.discard)


async def _load(res: SigningContext, tx_id: str) -> Watched:
    assert res.signing is not None
    async with res.sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id, populate_existing=True)
        signer = await db.get_one(User, tx.signer_id)
        item = tx.items[0]
        return Watched(
            tx_id=tx.id, signer_id=signer.id, batch_id=tx.batch_id,
            document_id=item.document_id, control_code=tx.control_code,
            mss_tx=MssTransaction(
                ap_trans_id="", mssp_trans_id=tx.mss_trans_id, msisdn=signer.phone or "",
                dtbs_hash=bytes.fromhex(item.dtbs_hash),
                certificate_der=res.signing.cert(signer.username).dump(),
                event_id=tx.control_code, started_at=0.0,
            ),
        )  # fmt: skip


async def _poll(res: SigningContext, tx_id: str, *, fresh: bool, on_batch: OnBatch | None) -> None:
    clock, redis, sessions = res.clock, res.redis, res.sessions
    assert res.signing is not None
    client = client_for(res.settings)
    watched: Watched | None = None
    try:
        watched = await _load(res, tx_id)
        if fresh:
            await _status(redis, watched, "sent")
            await asyncio.sleep(client.poll_initial_wait)
        await _status(redis, watched, "waiting_pin")
        renew_at = clock.now()
        while True:
            async with sessions() as db, db.begin():
                tx = await db.get_one(SigningTransaction, tx_id, populate_existing=True)
                status = tx.status
                if await tx_mod.expire_if_due(db, clock=clock, tx=tx):
                    status = TxState.EXPIRED
                elif status == TxState.AWAITING and clock.now() >= renew_at:
                    until = await _renew(db, tx_id, clock=clock)
                    if until is None:
                        return  # another process took the transaction over
                    renew_at = until - LEASE / 2
            if status != TxState.AWAITING:
                await _status(redis, watched, status)
                break
            try:
                value = await client.poll_signature(watched.mss_tx)
            except MssError as exc:
                to = TxState.EXPIRED if isinstance(exc, MssExpiredError) else TxState.FAILED
                async with sessions() as db, db.begin():
                    if await tx_mod.move(db, tx_id, clock=clock, from_states=(TxState.AWAITING,),
                                         to=to, error=exc.message_vi):  # fmt: skip
                        await audit.record(
                            db, clock=clock, action=f"signing.{to}", actor_id=watched.signer_id,
                            object_type="signing_transaction", object_id=tx_id,
                            detail={"method": "sim", "mss_error": type(exc).__name__},
                        )  # fmt: skip
                await _status(redis, watched, to, exc.message_vi)
                break
            if value is None:
                await asyncio.sleep(client.poll_interval)
                continue
            async with sessions() as db, db.begin():
                if not await tx_mod.move(db, tx_id, clock=clock, from_states=(TxState.AWAITING,),
                                         to=TxState.SIGNING):  # fmt: skip
                    return  # cancelled, expired or taken over meanwhile: the value is dropped
                item = (await db.get_one(SigningTransaction, tx_id)).items[0]
                await db.get_one(SigningItem, item.id)
                item.signature_value = value
                await audit.record(
                    db, clock=clock, action="signing.confirmed", actor_id=watched.signer_id,
                    object_type="signing_transaction", object_id=tx_id, detail={"method": "sim"},
                )  # fmt: skip
            await _status(redis, watched, "signing")
            done = await run.execute(
                sessions, redis, clock=clock, blobs=res.blobs, setup=res.signing, tx_id=tx_id
            )
            message = "" if done.status == TxState.COMPLETED else done.items[0].error
            await _status(redis, watched, done.status, message)
            break
    except asyncio.CancelledError:
        raise
    except Exception:
        # The transaction stays in SQL; its lease lapses and a sweeper takes it over.
        log.exception("SIM poller of %s failed", tx_id)
        return
    finally:
        await client.aclose()
    if watched is not None and watched.batch_id is not None and on_batch is not None:
        try:
            await on_batch(watched.batch_id)
        except Exception:  # the sweeper carries the batch on
            log.exception("SIM batch %s did not advance", watched.batch_id)


def background_tasks() -> list[asyncio.Task[None]]:
    return list(_POLLERS)
