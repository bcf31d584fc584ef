"""The demo office's workload: six months of history written in bulk (backend.demo.history and
bulk), and today's drafts in the leaders' "Chờ ký", made through the signing flow's own
functions (a handful: each is a PDF checked and given its issuing fields, like an upload)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.blobs import BlobStore
from backend.core.clock import VIETNAM, Clock, FixedClock
from backend.core.models import User
from backend.demo import authority as demo_authority
from backend.demo import bulk, sample_documents
from backend.demo import vocabulary as words
from backend.demo.history import Issuer, Planner, Staff
from backend.documents.workers import PdfWorkers
from backend.signing_flow import drafts


async def load_history(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    staff: Staff,
    senders: list[Issuer],
    months: int,
    seed: int,
    daily: int,
) -> int:
    """Plan and write `months` months before today; returns the number of documents."""
    now = clock.now()
    taken = frozenset(
        (str(fields["issuer_code"]), *_split(str(fields["number_symbol"])))
        for fields, *_ in sample_documents.DOCUMENTS
    )
    planner = Planner(
        staff=staff,
        issuers=senders,
        seed=seed,
        now=now,
        months=months,
        daily_incoming=daily,
        daily_outgoing=max(1, round(daily * 0.36)),
        taken=taken,
    )
    plan = planner.plan()
    pages = {doc.pages for doc in plan.incoming + plan.outgoing}
    pdfs = await bulk.sample_pdfs(
        blobs=blobs, workers=workers, pages=sorted(pages), today=now.astimezone(VIETNAM).date()
    )
    return await bulk.write(db, plan=plan, pdfs=pdfs, clerk_id=staff.users["vanthu"])


def _split(number_symbol: str) -> tuple[int, str]:
    number, _, symbol = number_symbol.partition("/")
    return int(number), symbol


async def load_drafts(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    people: dict[str, User],
) -> int:
    """Drafts waiting for each leader (one Hỏa tốc for the chairman) and one sent back."""
    now = clock.now()
    made = 0
    for index, (author, signer, type_code, urgency, subject) in enumerate(
        (*words.DRAFTS, words.RETURNED_DRAFT[:5])
    ):
        # Sent over the last days: the queue shows its oldest and newest.
        at = FixedClock(now - timedelta(hours=3 + 9 * index))
        document = await demo_authority.send_draft(
            db,
            clock=at,
            blobs=blobs,
            workers=workers,
            author=people[author],
            signer=people[signer],
            type_code=type_code,
            subject=subject,
            urgency=urgency,
            recipients=words.RECIPIENTS[index % len(words.RECIPIENTS)],
            pages=1 + index % 3,
        )
        made += 1
        if index == len(words.DRAFTS):
            at.advance(timedelta(hours=2))
            await drafts.return_draft(
                db,
                clock=at,
                leader=people[signer],
                document_id=document.id,
                comment=words.RETURNED_DRAFT[5],
            )
    return made
