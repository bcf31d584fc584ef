"""Carrying out a confirmed transaction: the key signs each item's DTBS, then each document
gets its new version.

Crash safety: the signature value is stored before the PDF is finished, and a new version is
added in the same SQL transaction that marks its item signed, so a process killed at any point
leaves either the old version alone or a complete, signed new version — never half of one.
`resume` finishes what a killed process left in `signing`.
"""

from __future__ import annotations

import hashlib
import logging

import redis.asyncio as aioredis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import audit, jobs, live
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.jobs import ClaimedJob
from backend.core.models import Role, User, UserRole
from backend.documents import catalogue
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.documents.verification import SignatureChecker
from backend.push import outbox, payloads
from backend.signing_flow import transactions as tx_mod
from backend.signing_flow.context import SigningContext
from backend.signing_flow.setup import SigningSetup
from backend.signing_flow.tables import Draft, SigningItem, SigningTransaction, TxState
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
) -> None:
    """Finish every item whose signature value is stored: one warm signing session for the
    batch (each document still gets its own timestamp and validation data), then each new
    version in its own SQL transaction — one failure does not undo the others."""
    loaded: list[tuple[int, bytes, bytes]] = []
    async with sessions() as db:
        for item_id in item_ids:
            item = await db.get_one(SigningItem, item_id)
            assert item.signature_value is not None
            loaded.append((item_id, await blobs.get(item.state_sha256), item.signature_value))
    # A batch's PDF work goes to the worker processes (every core); one document stays here.
    executor = setup.executor if len(loaded) > 1 else None
    results = await SigningSession(services=setup.services, executor=executor).finish_many(
        items=[(state, value) for _, state, value in loaded]
    )
    checker = SignatureChecker(setup.pki.trust)
    # One document: its signature panel is checked before the answer. A batch: the panels are
    # checked right after it (one full validation per document would double the batch's time).
    later = len(loaded) > 1
    for (item_id, _, _), result in zip(loaded, results, strict=True):
        if isinstance(result, SigningError):
            async with sessions() as db, db.begin():
                await db.execute(
                    update(SigningItem)
                    .where(SigningItem.id == item_id, SigningItem.result == "pending")
                    .values(result="failed", error=result.message_vi[:2000])
                    .execution_options(synchronize_session=False)
                )
            ok = False
        else:
            check = PENDING_CHECK if later else await checker.check(result, has_signatures=True)
            stored = await _store(
                sessions,
                clock=clock,
                blobs=blobs,
                item_id=item_id,
                signer_id=signer_id,
                signed=result,
                check=check,
            )
            if stored is None:
                continue  # finished by another process, which also told everyone
            ok = stored
        await _notify_item(sessions, redis, item_id=item_id, ok=ok, tx_id=tx_id)
    if later:
        async with sessions() as db, db.begin():
            await jobs.enqueue(db, clock=clock, kind=CHECK_JOB, payload={"items": item_ids})
        await jobs.kick(redis)


PENDING_CHECK: dict[str, object] = {"status": "not_verified", "reason": "checking"}
# The job that checks a batch's new signature panels after the batch: {"items": [ids]}.
CHECK_JOB = "signing.check_panels"


async def check_job(res: SigningContext, job: ClaimedJob) -> None:
    """Check the signature panels of the versions a batch made (the document list shows
    "checking" until then). Repeating it is harmless: each check overwrites the last."""
    if res.signing is None:
        return
    checker = SignatureChecker(res.signing.pki.trust)
    sessions, blobs = res.sessions, res.blobs
    for item_id in job.payload["items"]:
        async with sessions() as db, db.begin():
            item = await db.get_one(SigningItem, item_id)
            if item.result_version_id is None:
                continue
            version = await db.get_one(FileVersion, item.result_version_id)
            pdf = await blobs.get(version.sha256)
            document = await db.get_one(Document, item.document_id)
            document.signature_check = await checker.check(pdf, has_signatures=True)


async def _store(
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    blobs: BlobStore,
    item_id: int,
    signer_id: int,
    signed: bytes,
    check: dict[str, object],
) -> bool | None:
    """Write the signed version; False if the document changed meanwhile, None if another
    process already finished this item."""
    sha = await blobs.put(signed)
    async with sessions() as db, db.begin():
        # Claim the item first (compare-and-set): of two processes finishing the same item (a
        # resume racing another), exactly one writes the new version; the other stands back.
        claimed = await db.execute(
            update(SigningItem)
            .where(SigningItem.id == item_id, SigningItem.result == "pending")
            .values(result="signed")
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        item = await db.get_one(SigningItem, item_id, populate_existing=True)
        base = await db.get_one(FileVersion, item.base_version_id)
        file = await db.get_one(DocumentFile, base.file_id)
        current = max(file.versions, key=lambda v: v.version)
        document = await db.get_one(Document, item.document_id)
        if current.id != base.id or document.status != catalogue.Status.DRAFT:
            item.result, item.error = "failed", "the document changed while it was being signed"
            return False
        version = FileVersion(
            file_id=file.id,
            version=base.version + 1,
            sha256=sha,
            size=len(signed),
            media_type="application/pdf",
            page_count=base.page_count,
            reason="lãnh đạo ký số",
            derived_from=[base.sha256],
            created_by_id=signer_id,
            created_at=clock.now(),
        )
        db.add(version)
        await db.flush()
        item.result, item.result_version_id = "signed", version.id
        document.status = catalogue.Status.SIGNED
        # Shown as the document's signature panel (who, when, valid) — checked, not assumed.
        document.signature_check = check
        # Push notices to the drafter and the clerks, committed with the signed version.
        signer = await db.get_one(User, signer_id)
        notice = payloads.signed(
            document_id=document.id,
            subject=document.subject,
            urgency=document.urgency,
            signer_name=signer.full_name,
        )
        for user_id in sorted(await to_tell(db, document.id, document.agency_id)):
            await outbox.enqueue(
                db,
                clock=clock,
                user_id=user_id,
                notice=notice,
                dedupe_key=f"signed:{version.id}:{user_id}",
            )
        await audit.record(
            db,
            clock=clock,
            action="document.signed",
            actor_id=signer_id,
            object_type="document",
            object_id=document.id,
            detail={
                "transaction": item.transaction_id,
                "version": version.version,
                "sha256": sha,
                "dtbs_hash": item.dtbs_hash,
            },
        )
    return True


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
    if pending:
        await _finish_items(
            sessions,
            redis,
            clock=clock,
            blobs=blobs,
            setup=setup,
            item_ids=pending,
            signer_id=signer.id,
            tx_id=tx_id,
        )
    return await _close(sessions, redis, clock=clock, tx_id=tx_id)


async def _refuse_unauthorised(
    sessions: async_sessionmaker[AsyncSession], *, clock: Clock, tx_id: str, signer_id: int
) -> None:
    async with sessions() as db, db.begin():
        signer = await db.get_one(User, signer_id)
        items = await db.scalars(
            select(SigningItem).where(
                SigningItem.transaction_id == tx_id, SigningItem.result == "pending"
            )
        )
        for item in items:
            document = await db.get_one(Document, item.document_id)
            why = await tx_mod.still_authorised(db, clock=clock, signer=signer, document=document)
            if why is not None:
                item.result, item.error = "failed", why[0][:2000]
                await audit.record(
                    db,
                    clock=clock,
                    action="signing.refused",
                    actor_id=signer_id,
                    object_type="document",
                    object_id=document.id,
                    detail={"transaction": tx_id, "reason": why[1]},
                )


async def _close(
    sessions: async_sessionmaker[AsyncSession], redis: aioredis.Redis, *, clock: Clock, tx_id: str
) -> SigningTransaction:
    async with sessions() as db, db.begin():
        tx = await db.get_one(SigningTransaction, tx_id, populate_existing=True)
        for item in tx.items:
            await db.refresh(item)
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


async def to_tell(db: AsyncSession, document_id: int, agency_id: int) -> set[int]:
    """Who hears that a document was signed: its drafter and the agency's clerks."""
    draft = await db.get(Draft, document_id)
    clerks = await db.scalars(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.agency_id == agency_id, UserRole.role == Role.CLERK.value)
    )
    return {*clerks, *([draft.author_id] if draft else [])}


async def _notify_item(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    item_id: int,
    ok: bool,
    tx_id: str,
) -> None:
    async with sessions() as db:
        item = await db.get_one(SigningItem, item_id)
        tx = await db.get_one(SigningTransaction, tx_id)
        event = {"transaction": tx_id, "document": item.document_id, "result": item.result}
        await live.publish(redis, tx.signer_id, "signing-item", event)
        if not ok:
            return
        people = await to_tell(db, item.document_id, tx.agency_id)
        for user_id in people:
            await live.publish(redis, user_id, "document-signed", {"document": item.document_id})


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
        if pending:
            await _finish_items(
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
    return stuck
