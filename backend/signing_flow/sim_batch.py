"""SIM-PKI batches: the leader selects several documents and confirms each on the phone.

Telcos allow one pending SIM request per person, so a batch is a queue: each document gets its
own transaction, control code and MSS request, sent when the previous one has ended (signed,
failed, expired or cancelled) — one failure does not stop the rest. The queue is in SQL
(`signing_batches`, `signing_batch_items`): whichever process ends a document's transaction
(its poll job, or the sweep of any process) opens the next one with `advance`, which locks the
batch row first so two processes never open two.

Per-document statuses shown to the leader: queued → sent → waiting_pin → signing → completed,
or failed | expired | cancelled.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, jobs
from backend.core.clock import Clock
from backend.core.errors import EofficeError, NotFoundError
from backend.core.models import User
from backend.documents.tables import Document
from backend.signing_flow import sim
from backend.signing_flow import transactions as tx_mod
from backend.signing_flow.context import SigningContext
from backend.signing_flow.tables import (
    OPEN_STATES,
    SigningBatch,
    SigningBatchItem,
    SigningItem,
    SigningTransaction,
    TxState,
)

log = logging.getLogger("eoffice.signing")
RUNNING, FINISHED, CANCELLED = "running", "finished", "cancelled"
QUEUED, STARTED = "queued", "started"
# What a transaction's state means for its document in the batch view.
TX_STATUS = {
    TxState.PREPARED: "sent",
    TxState.AWAITING: "waiting_pin",
    TxState.SIGNING: "signing",
    TxState.COMPLETED: "completed",
    TxState.FAILED: "failed",
    TxState.EXPIRED: "expired",
    TxState.CANCELLED: "cancelled",
}
FINAL = ("completed", "failed", "expired", "cancelled")


def _not_found() -> NotFoundError:
    return NotFoundError("Không tìm thấy lượt ký qua SIM.", "No such SIM signing batch.")


async def create(
    db: AsyncSession, *, clock: Clock, signer: User, document_ids: Sequence[int]
) -> SigningBatch:
    """Queue `document_ids` (1 to 50, awaiting this signer) for SIM signing, in order."""
    ids = list(dict.fromkeys(document_ids))
    if not 1 <= len(ids) <= tx_mod.MAX_BATCH:
        raise tx_mod.SigningFlowError(
            f"Chọn từ 1 đến {tx_mod.MAX_BATCH} văn bản để ký.",
            f"Select between 1 and {tx_mod.MAX_BATCH} documents to sign.",
        )
    if not signer.phone:
        raise EofficeError(
            "Tài khoản của bạn chưa có số điện thoại ký số SIM.",
            "Your account has no SIM signing phone number.",
        )
    await tx_mod.signable(db, signer, ids, clock=clock)
    busy = await db.scalar(
        select(SigningTransaction.id).where(
            SigningTransaction.signer_id == signer.id,
            SigningTransaction.method == "sim",
            SigningTransaction.status.in_(OPEN_STATES),
        )
    )
    running = await db.scalar(
        select(SigningBatch.id).where(
            SigningBatch.signer_id == signer.id, SigningBatch.status == RUNNING
        )
    )
    if busy is not None or running is not None:
        raise tx_mod.SigningFlowError(
            "Bạn đang có một yêu cầu ký qua SIM chưa xong. Hãy hoàn tất hoặc hủy nó trước.",
            "You already have a SIM signing request pending. Finish or cancel it first.",
        )
    now = clock.now()
    batch = SigningBatch(
        id=secrets.token_hex(16),
        agency_id=signer.agency_id,
        signer_id=signer.id,
        method="sim",
        status=RUNNING,
        created_at=now,
        updated_at=now,
        items=[
            SigningBatchItem(position=n, document_id=d, status=QUEUED, error="")
            for n, d in enumerate(ids)
        ],
    )
    db.add(batch)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="signing.batch_created",
        actor_id=signer.id,
        object_type="signing_batch",
        object_id=batch.id,
        detail={"method": "sim", "documents": ids},
    )
    return batch


async def get(db: AsyncSession, batch_id: str, *, signer_id: int) -> SigningBatch:
    batch = await db.get(SigningBatch, batch_id, populate_existing=True)
    if batch is None or batch.signer_id != signer_id:
        raise _not_found()
    return batch


async def _lock(db: AsyncSession, batch_id: str, *, clock: Clock) -> bool:
    """Write the running batch's row first: two processes advancing it wait for each other."""
    result = await db.execute(
        update(SigningBatch)
        .where(SigningBatch.id == batch_id, SigningBatch.status == RUNNING)
        .values(updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def _has_open(db: AsyncSession, batch_id: str) -> bool:
    found = await db.scalar(
        select(SigningTransaction.id).where(
            SigningTransaction.batch_id == batch_id, SigningTransaction.status.in_(OPEN_STATES)
        )
    )
    return found is not None


async def advance(res: SigningContext, batch_id: str) -> str | None:
    """Send the next queued document to the phone unless one is pending; finish the batch when
    none is left. Returns the id of the transaction this call opened, if any."""
    assert res.signing is not None
    clock, settings = res.clock, res.settings
    while True:
        async with res.sessions() as db, db.begin():
            if not await _lock(db, batch_id, clock=clock) or await _has_open(db, batch_id):
                return None
            item = await db.scalar(
                select(SigningBatchItem)
                .where(SigningBatchItem.batch_id == batch_id, SigningBatchItem.status == QUEUED)
                .order_by(SigningBatchItem.position)
                .limit(1)
            )
            batch = await db.get_one(SigningBatch, batch_id)
            signer_id = batch.signer_id
            if item is None:
                batch.status = FINISHED
                await audit.record(
                    db,
                    clock=clock,
                    action="signing.batch_finished",
                    actor_id=signer_id,
                    object_type="signing_batch",
                    object_id=batch_id,
                )
                return None
            item_id, document_id = item.id, item.document_id
        # Opening the transaction and sending the request is one SQL transaction: if the MSSP
        # refuses, nothing of it remains and the document is marked failed instead.
        client = sim.client_for(settings)
        error: EofficeError | None = None
        tx_id = ""
        try:
            async with res.sessions() as db, db.begin():
                if not await _lock(db, batch_id, clock=clock) or await _has_open(db, batch_id):
                    return None
                item = await db.get_one(SigningBatchItem, item_id, populate_existing=True)
                if item.status != QUEUED:
                    continue
                signer = await db.get_one(User, signer_id)
                prepared = await tx_mod.prepare(
                    db,
                    clock=clock,
                    blobs=res.blobs,
                    setup=res.signing,
                    signer=signer,
                    document_ids=[document_id],
                    method="sim",
                    lifetime=timedelta(seconds=settings.signing_timeout_seconds),
                )
                if prepared.reused:
                    raise tx_mod.SigningFlowError(
                        "Văn bản này đang chờ xác nhận qua SIM ở một yêu cầu khác.",
                        "This document already awaits a SIM confirmation in another request.",
                    )
                tx = prepared.transaction
                tx.batch_id = batch_id
                item.status, item.transaction_id = STARTED, tx.id
                tx_id = tx.id
                await sim.start(
                    db,
                    res.redis,
                    clock=clock,
                    setup=res.signing,
                    client=client,
                    tx=tx,
                    signer=signer,
                )
        except EofficeError as exc:
            error = exc
        finally:
            await client.aclose()
        if error is None:
            await jobs.kick(res.redis)  # its poll job is queued: start it now
            return tx_id
        async with res.sessions() as db, db.begin():
            failed = await db.execute(
                update(SigningBatchItem)
                .where(SigningBatchItem.id == item_id, SigningBatchItem.status == QUEUED)
                .values(status=TxState.FAILED, error=error.message_vi[:2000])
                .execution_options(synchronize_session=False)
            )
            if failed.rowcount == 1:  # type: ignore[attr-defined]
                await audit.record(
                    db,
                    clock=clock,
                    action="signing.batch_item_failed",
                    actor_id=signer_id,
                    object_type="signing_batch",
                    object_id=batch_id,
                    detail={"document": document_id, "error": error.message_en[:500]},
                )
        await sim.publish(
            res.redis,
            user_id=signer_id,
            tx_id="",
            status="failed",
            batch_id=batch_id,
            document_id=document_id,
            message=error.message_vi,
        )


async def cancel(res: SigningContext, batch_id: str, *, signer: User) -> None:
    """Stop the batch: the queued documents are not sent, the pending request is cancelled (a
    document already confirmed on the phone is still signed)."""
    clock = res.clock
    events: list[tuple[str, int]] = []
    async with res.sessions() as db, db.begin():
        batch = await get(db, batch_id, signer_id=signer.id)
        if not await _lock(db, batch_id, clock=clock):
            return
        batch.status = CANCELLED
        for item in batch.items:
            if item.status == QUEUED:
                item.status = TxState.CANCELLED
                events.append(("", item.document_id))
        open_txs = await db.scalars(
            select(SigningTransaction).where(
                SigningTransaction.batch_id == batch_id,
                SigningTransaction.status.in_(OPEN_STATES),
            )
        )
        for tx in open_txs:
            if await tx_mod.cancel(db, clock=clock, tx=tx, actor_id=signer.id):
                events.append((tx.id, tx.items[0].document_id))
        await audit.record(
            db,
            clock=clock,
            action="signing.batch_cancelled",
            actor_id=signer.id,
            object_type="signing_batch",
            object_id=batch_id,
        )
    for tx_id, document_id in events:
        await sim.publish(
            res.redis,
            user_id=signer.id,
            tx_id=tx_id,
            status="cancelled",
            batch_id=batch_id,
            document_id=document_id,
        )


@dataclass(frozen=True)
class Row:
    document: Document
    status: str
    code: str
    error: str
    transaction_id: str


async def rows(db: AsyncSession, batch: SigningBatch) -> list[Row]:
    """The batch view: each document with its status, control code and error, from SQL."""
    found: list[Row] = []
    for item in batch.items:
        document = await db.get_one(Document, item.document_id)
        status, code, error, tx_id = item.status, "", item.error, ""
        if item.transaction_id is not None:
            tx = await db.get_one(SigningTransaction, item.transaction_id, populate_existing=True)
            signed = await db.scalar(
                select(SigningItem.result).where(SigningItem.transaction_id == tx.id)
            )
            status, code, tx_id = TX_STATUS[TxState(tx.status)], tx.control_code, tx.id
            if status == "completed" and signed != "signed":
                status = "failed"
            error = tx.error or (
                await db.scalar(
                    select(SigningItem.error).where(SigningItem.transaction_id == tx.id)
                )
                or ""
            )
        found.append(Row(document, status, code, error if status == "failed" else "", tx_id))
    return found


async def sweep(res: SigningContext) -> list[str]:
    """Carry on every running batch whose current document has ended (its process may have
    died between two documents, or the sweeper expired the pending one)."""
    if res.signing is None or not res.settings.effective_mssp_url:
        return []
    async with res.sessions() as db:
        running = list(
            await db.scalars(select(SigningBatch.id).where(SigningBatch.status == RUNNING))
        )
    moved = []
    for batch_id in running:
        async with res.sessions() as db:
            if await _has_open(db, batch_id):
                continue
        await advance(res, batch_id)
        moved.append(batch_id)
    return moved
