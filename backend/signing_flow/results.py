"""What a finished signature leaves behind: the document's new version, committed with its
item marked signed, the push notices and audit entry; the live events after the commit; and,
for a batch, the job that checks the new signature panels.

A batch's results are written in one SQL transaction, each item in a savepoint, with what they
need read once for the batch (documents, versions, drafters, clerks, the signer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import audit, jobs, live
from backend.core.clock import Clock
from backend.core.jobs import ClaimedJob
from backend.core.models import Role, User, UserRole
from backend.documents import catalogue
from backend.documents.tables import Document, FileVersion
from backend.documents.verification import SignatureChecker
from backend.push import outbox, payloads
from backend.signing_flow.context import SigningContext
from backend.signing_flow.tables import Draft, SigningItem

log = logging.getLogger("eoffice.signing")


@dataclass
class Outcome:
    """One item after finishing: the signed PDF (stored as `sha256`) or why it failed; then
    whether its new version was stored (`ok`)."""

    item_id: int
    document_id: int
    signed: bytes | None = None
    check: dict[str, object] = field(default_factory=dict)
    error: str = ""
    sha256: str = ""
    ok: bool = False
    people: set[int] = field(default_factory=set)  # who hears it was signed


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


async def store(
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    outcomes: list[Outcome],
    signer_id: int,
    check_items: list[int],
) -> tuple[list[Outcome], Exception | None]:
    """Write a batch's results in one SQL transaction: a failed item is marked failed; a signed
    one gets its new version (not if the document changed meanwhile), each in a savepoint.

    Returns the outcomes to announce — not those another process had already finished, which
    told everyone itself — and the first unexpected error: its item is left pending with its
    signature value for `resume`, the other items are stored all the same.
    """
    told: list[Outcome] = []
    trouble: Exception | None = None
    signed = [o for o in outcomes if o.signed is not None]
    async with sessions() as db, db.begin():
        for outcome in outcomes:
            if outcome.signed is None:
                await db.execute(
                    update(SigningItem)
                    .where(SigningItem.id == outcome.item_id, SigningItem.result == "pending")
                    .values(result="failed", error=outcome.error[:2000])
                    .execution_options(synchronize_session=False)
                )
                told.append(outcome)
        # Claim the signed items first (compare-and-set): of two processes finishing the same
        # item (a resume racing another), exactly one writes its new version; the other stands
        # back. The claim also starts the write transaction before anything is read.
        claimed: set[int] = set()
        if signed:
            claimed = set(
                await db.scalars(
                    update(SigningItem)
                    .where(
                        SigningItem.id.in_([o.item_id for o in signed]),
                        SigningItem.result == "pending",
                    )
                    .values(result="signed")
                    .returning(SigningItem.id)
                    .execution_options(synchronize_session=False)
                )
            )
        mine = [o for o in signed if o.item_id in claimed]
        batch = await _Loaded.read(db, outcomes=mine, signer_id=signer_id)
        for outcome in mine:
            try:
                async with db.begin_nested():
                    outcome.ok = await _add_version(db, clock=clock, outcome=outcome, batch=batch)
            except Exception as exc:  # this item only; the first error is raised after the commit
                log.exception("storing the signed version of item %s failed", outcome.item_id)
                trouble = trouble or exc
                await db.execute(
                    update(SigningItem)
                    .where(SigningItem.id == outcome.item_id)
                    .values(result="pending")
                    .execution_options(synchronize_session=False)
                )
                continue
            told.append(outcome)
        if check_items:
            await jobs.enqueue(db, clock=clock, kind=CHECK_JOB, payload={"items": check_items})
    return told, trouble


@dataclass(frozen=True)
class _Loaded:
    """What storing a batch's versions reads, read once for the batch."""

    signer: User
    items: dict[int, SigningItem]
    bases: dict[int, FileVersion]
    documents: dict[int, Document]
    people: dict[int, set[int]]  # who hears of each document: drafter and clerks

    @classmethod
    async def read(cls, db: AsyncSession, *, outcomes: list[Outcome], signer_id: int) -> _Loaded:
        item_rows = await db.scalars(
            select(SigningItem).where(SigningItem.id.in_([o.item_id for o in outcomes]))
        )
        items = {item.id: item for item in item_rows}
        bases = {
            v.id: v
            for v in await db.scalars(
                select(FileVersion).where(
                    FileVersion.id.in_([i.base_version_id for i in items.values()])
                )
            )
        }
        document_ids = [o.document_id for o in outcomes]
        documents = {
            d.id: d for d in await db.scalars(select(Document).where(Document.id.in_(document_ids)))
        }
        authors = {
            document_id: author_id
            for document_id, author_id in await db.execute(
                select(Draft.document_id, Draft.author_id).where(
                    Draft.document_id.in_(document_ids)
                )
            )
        }
        clerks = {a: await clerks_of(db, a) for a in {d.agency_id for d in documents.values()}}
        people = {
            d.id: clerks[d.agency_id] | ({authors[d.id]} if d.id in authors else set())
            for d in documents.values()
        }
        signer = await db.get_one(User, signer_id)
        return cls(signer=signer, items=items, bases=bases, documents=documents, people=people)


async def _add_version(db: AsyncSession, *, clock: Clock, outcome: Outcome, batch: _Loaded) -> bool:
    """The signed version of one claimed item; False if the document changed meanwhile."""
    assert outcome.signed is not None
    item = batch.items[outcome.item_id]
    base = batch.bases[item.base_version_id]
    document = batch.documents[item.document_id]
    file = next(f for f in document.files if f.id == base.file_id)
    current = max(file.versions, key=lambda v: v.version)
    if current.id != base.id or document.status != catalogue.Status.DRAFT:
        item.result, item.error = "failed", "the document changed while it was being signed"
        return False
    version = FileVersion(
        file_id=file.id,
        version=base.version + 1,
        sha256=outcome.sha256,
        size=len(outcome.signed),
        media_type="application/pdf",
        page_count=base.page_count,
        reason="lãnh đạo ký số",
        derived_from=[base.sha256],
        created_by_id=batch.signer.id,
        created_at=clock.now(),
    )
    db.add(version)
    await db.flush()
    item.result, item.result_version_id = "signed", version.id
    document.status = catalogue.Status.SIGNED
    # Shown as the document's signature panel (who, when, valid) — checked, not assumed.
    document.signature_check = outcome.check
    # Push notices to the drafter and the clerks, committed with the signed version.
    notice = payloads.signed(
        document_id=document.id,
        subject=document.subject,
        urgency=document.urgency,
        signer_name=batch.signer.full_name,
    )
    await outbox.enqueue_many(
        db,
        clock=clock,
        notices=[
            (user_id, notice, f"signed:{version.id}:{user_id}")
            for user_id in sorted(batch.people[document.id])
        ],
    )
    await audit.record(
        db,
        clock=clock,
        action="document.signed",
        actor_id=batch.signer.id,
        object_type="document",
        object_id=document.id,
        detail={
            "transaction": item.transaction_id,
            "version": version.version,
            "sha256": outcome.sha256,
            "dtbs_hash": item.dtbs_hash,
        },
    )
    outcome.people = batch.people[document.id]
    return True


async def to_tell(db: AsyncSession, document_id: int, agency_id: int) -> set[int]:
    """Who hears that a document was signed: its drafter and the agency's clerks."""
    draft = await db.get(Draft, document_id)
    return await clerks_of(db, agency_id) | ({draft.author_id} if draft else set())


async def clerks_of(db: AsyncSession, agency_id: int) -> set[int]:
    return set(
        await db.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.agency_id == agency_id, UserRole.role == Role.CLERK.value)
        )
    )


async def notify(
    redis: aioredis.Redis, *, outcomes: list[Outcome], tx_id: str, signer_id: int
) -> None:
    """The signer's screens hear how each item went; the drafter's and clerks' screens hear
    of each signed document."""
    for outcome in outcomes:
        result = "signed" if outcome.ok else "failed"
        event = {"transaction": tx_id, "document": outcome.document_id, "result": result}
        await live.publish(redis, signer_id, "signing-item", event)
        for user_id in sorted(outcome.people):
            await live.publish(redis, user_id, "document-signed", {"document": outcome.document_id})
