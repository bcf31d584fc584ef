"""Carrying out a confirmed transaction: the key signs each item's DTBS, then each document
gets its new version.

Crash safety: the signature value is stored before the PDF is finished, and a new version is
added in the same SQL transaction that marks its item signed, so a process killed at any point
leaves either the old version alone or a complete, signed new version — never half of one.
`resume` finishes what a killed process left in `signing`. What a finished item leaves behind
(version, notices, audit, live events) is written by `backend.signing_flow.results`, a batch's
in one SQL transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import audit, jobs, live
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.models import User
from backend.documents.tables import Document
from backend.documents.verification import SignatureChecker
from backend.signing_flow import results
from backend.signing_flow import transactions as tx_mod
from backend.signing_flow.setup import SigningSetup
from backend.signing_flow.tables import SigningItem, SigningTransaction, TxState
from signing import KeyProvider, SigningError, SigningSession

log = logging.getLogger("eoffice.signing")


async def _sign_values(
    sessions: async_sessionmaker[AsyncSession], *, tx_id: str, key: KeyProvider
) -> None:
    async with sessions() as db, db.begin():
        items = list(
            await db.scalars(
                select(SigningItem).where(
                    SigningItem.transaction_id == tx_id,
                    SigningItem.result == "pending",
                    SigningItem.signature_value.is_(None),
                )
            )
        )
        for item in items:
            # The key signs exactly the DTBS whose hash the confirmation committed to.
            if hashlib.sha256(item.dtbs).hexdigest() != item.dtbs_hash:
                item.result, item.error = "failed", "dtbs does not match its committed hash"
                continue
            item.signature_value = await key.sign(dtbs=item.dtbs)


async def _finish_items(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    clock: Clock,
    blobs: BlobStore,
    setup: SigningSetup,
    item_ids: list[int],
    signer_id: int,
    tx_id: str,
) -> list[int]:
    """Finish every item whose signature value is stored: one warm signing session for the
    batch (each document still gets its own timestamp and validation data), then every new
    version in one SQL transaction, each item in its own savepoint — one failure does not undo
    the others. Returns the items whose signature panels a job is to check (a batch's), for
    the caller to kick the runners once it has answered."""
    async with sessions() as db:
        found = await db.scalars(select(SigningItem).where(SigningItem.id.in_(item_ids)))
        by_id = {item.id: item for item in found}
    items = [by_id[item_id] for item_id in item_ids]
    states = await asyncio.gather(*(blobs.get(item.state_sha256) for item in items))
    values: list[bytes] = []
    for item in items:
        assert item.signature_value is not None  # only such items are passed in
        values.append(item.signature_value)
    # A batch's PDF work goes to the worker processes (every core); one document stays here.
    executor = setup.executor if len(items) > 1 else None
    finished = await SigningSession(services=setup.services, executor=executor).finish_many(
        items=list(zip(states, values, strict=True))
    )
    checker = SignatureChecker(setup.pki.trust)
    # One document: its signature panel is checked before the answer. A batch: the panels are
    # checked right after it (one full validation per document would double the batch's time).
    later = len(items) > 1
    outcomes: list[results.Outcome] = []
    for item, result in zip(items, finished, strict=True):
        if isinstance(result, SigningError):
            outcomes.append(results.Outcome(item.id, item.document_id, error=result.message_vi))
        else:
            check = (
                results.PENDING_CHECK if later else await checker.check(result, has_signatures=True)
            )
            outcomes.append(results.Outcome(item.id, item.document_id, signed=result, check=check))
    # The blobs first, all at once (content-addressed: one nobody refers to is harmless).
    shas = await asyncio.gather(*(blobs.put(o.signed) for o in outcomes if o.signed is not None))
    for outcome, sha in zip((o for o in outcomes if o.signed is not None), shas, strict=True):
        outcome.sha256 = sha
    stored, trouble = await results.store(
        sessions,
        clock=clock,
        outcomes=outcomes,
        signer_id=signer_id,
        check_items=item_ids if later else [],
    )
    await results.notify(redis, outcomes=stored, tx_id=tx_id, signer_id=signer_id)
    if trouble is not None:
        raise trouble  # the item stays pending with its value: `resume` finishes it
    return item_ids if later else []


async def execute(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    clock: Clock,
    blobs: BlobStore,
    setup: SigningSetup,
    tx_id: str,
    key: KeyProvider | None = None,
) -> SigningTransaction:
    """Sign and finish every item of a transaction in `signing`; returns it completed/failed."""
    async with sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id)
        signer = await db.get_one(User, tx.signer_id)
        username = signer.username
    # The authority is checked again now: a grant revoked or expired (or the signer marked away)
    # while the confirmation was pending fails its items before any key signs or any PDF is
    # finished — nothing is half-signed.
    await _refuse_unauthorised(sessions, clock=clock, tx_id=tx_id, signer_id=signer.id)
    if key is not None or tx.method == "passkey":
        try:
            await _sign_values(sessions, tx_id=tx_id, key=key or setup.keys.key(username))
        except SigningError as exc:
            log.warning("key failed for %s: %s", tx_id, exc)
    async with sessions() as db:
        pending = list(
            await db.scalars(
                select(SigningItem.id).where(
                    SigningItem.transaction_id == tx_id,
                    SigningItem.result == "pending",
                    SigningItem.signature_value.is_not(None),
                )
            )
        )
    to_check: list[int] = []
    if pending:
        to_check = await _finish_items(
            sessions,
            redis,
            clock=clock,
            blobs=blobs,
            setup=setup,
            item_ids=pending,
            signer_id=signer.id,
            tx_id=tx_id,
        )
    done = await _close(sessions, redis, clock=clock, tx_id=tx_id)
    if to_check:
        # Only now: the panel checks are CPU work on this loop and would hold up the answer.
        await jobs.kick(redis)
    return done


async def _refuse_unauthorised(
    sessions: async_sessionmaker[AsyncSession], *, clock: Clock, tx_id: str, signer_id: int
) -> None:
    async with sessions() as db, db.begin():
        signer = await db.get_one(User, signer_id)
        items = list(
            await db.scalars(
                select(SigningItem).where(
                    SigningItem.transaction_id == tx_id, SigningItem.result == "pending"
                )
            )
        )
        documents = await db.scalars(
            select(Document).where(Document.id.in_([i.document_id for i in items]))
        )
        refused = await tx_mod.no_longer_authorised(
            db, clock=clock, signer=signer, documents=list(documents)
        )
        for item in items:
            why = refused.get(item.document_id)
            if why is not None:
                item.result, item.error = "failed", why[0][:2000]
                await audit.record(
                    db,
                    clock=clock,
                    action="signing.refused",
                    actor_id=signer_id,
                    object_type="document",
                    object_id=item.document_id,
                    detail={"transaction": tx_id, "reason": why[1]},
                )


async def _close(
    sessions: async_sessionmaker[AsyncSession], redis: aioredis.Redis, *, clock: Clock, tx_id: str
) -> SigningTransaction:
    async with sessions() as db, db.begin():
        tx = await db.get_one(SigningTransaction, tx_id)  # a new session: read fresh
        for item in tx.items:
            if item.result == "pending":
                item.result, item.error = "failed", item.error or "not signed"
        signed = [i for i in tx.items if i.result == "signed"]
        to = TxState.COMPLETED if signed else TxState.FAILED
        if await tx_mod.move(db, tx_id, clock=clock, from_states=(TxState.SIGNING,), to=to):
            await audit.record(
                db,
                clock=clock,
                action=f"signing.{to}",
                actor_id=tx.signer_id,
                object_type="signing_transaction",
                object_id=tx_id,
                detail={
                    "signed": [i.document_id for i in signed],
                    "failed": [i.document_id for i in tx.items if i.result == "failed"],
                },
            )
        await db.refresh(tx)
    await live.publish(redis, tx.signer_id, "signing", {"transaction": tx_id, "status": tx.status})
    return tx


async def resume(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    clock: Clock,
    blobs: BlobStore,
    setup: SigningSetup,
) -> list[str]:
    """Finish what a killed process left in `signing` past its expiry: items whose signature
    value was stored are finished, the others fail; the old version stays untouched."""
    async with sessions() as db:
        stuck = list(
            await db.scalars(
                select(SigningTransaction.id).where(
                    SigningTransaction.status == TxState.SIGNING,
                    SigningTransaction.expires_at <= clock.now(),
                )
            )
        )
    for tx_id in stuck:
        async with sessions() as db:
            pending = list(
                await db.scalars(
                    select(SigningItem.id).where(
                        SigningItem.transaction_id == tx_id,
                        SigningItem.result == "pending",
                        SigningItem.signature_value.is_not(None),
                    )
                )
            )
            tx = await db.get_one(SigningTransaction, tx_id)
        to_check: list[int] = []
        if pending:
            to_check = await _finish_items(
                sessions,
                redis,
                clock=clock,
                blobs=blobs,
                setup=setup,
                item_ids=pending,
                signer_id=tx.signer_id,
                tx_id=tx_id,
            )
        await _close(sessions, redis, clock=clock, tx_id=tx_id)
        if to_check:
            await jobs.kick(redis)
    return stuck
