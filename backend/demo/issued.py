"""A few outgoing documents signed by a leader and issued by the clerk for real: drafted through
the signing flow, signed with the leader's server-held key (the signature the app's transaction
makes: certified, B-LT, in the signer block), then numbered, sealed and sent to units by
`signing_flow.issue.issue`. Their signatures verify against the dev PKI.

It needs the dev PKI and the leaders' keys, which `eoffice pki init` makes after the demo users
exist: `eoffice demo` does this step on a run where the PKI is there and these documents are
not (scripts/run runs it again after `pki init`). The months of history before them are issued
without signatures (thousands of PAdES signatures would take minutes): their files say so.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.blobs import BlobStore
from backend.core.clock import Clock, FixedClock
from backend.core.models import Unit, User
from backend.demo import authority as demo_authority
from backend.documents import catalogue
from backend.documents.tables import Document, FileVersion
from backend.documents.verification import SignatureChecker
from backend.documents.workers import PdfWorkers
from backend.signing_flow import drafts, issue, transactions
from backend.signing_flow.setup import SigningSetup
from signing import (
    LeaderAppearance,
    PadesLevel,
    finish_signature,
    prepare_signature,
)

# (author, signer, type, urgency, subject, units informed)
SIGNED = (
    ("chuyenvien1", "chutich", "QD", 0,
     "Quyết định ban hành Kế hoạch cải cách hành chính tỉnh Sông Hồng năm 2027", ("KT", "NC")),
    ("chuyenvien2", "phochutich", "CV", 1,
     "Về việc tăng cường công tác tiếp công dân dịp cuối năm", ("NC",)),
    ("truongphongkt", "phochutich", "KH", 0,
     "Kế hoạch triển khai chữ ký số trong cơ quan hành chính nhà nước tỉnh năm 2027", ("TH",)),
)  # fmt: skip


async def present(db: AsyncSession, *, agency_id: int) -> bool:
    count = await db.scalar(
        select(func.count())
        .select_from(Document)
        .where(
            Document.agency_id == agency_id,
            Document.subject.in_([row[4] for row in SIGNED]),
        )
    )
    return bool(count)


async def sign_and_issue(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    workers: PdfWorkers,
    setup: SigningSetup,
) -> int:
    """Draft, sign and issue the documents of SIGNED once; returns how many were issued."""
    people = {u.username: u for u in await db.scalars(select(User).where(User.is_demo))}
    clerk = people["vanthu"]
    if await present(db, agency_id=clerk.agency_id):
        return 0
    units = {u.short_name: u.id for u in await db.scalars(select(Unit))}
    checker = SignatureChecker(setup.pki.trust)
    now = clock.now()
    for index, (author, signer, type_code, urgency, subject, informed) in enumerate(SIGNED):
        at = FixedClock(now - timedelta(hours=6 - 2 * index))
        leader = people[signer]
        document = await demo_authority.send_draft(
            db,
            clock=at,
            blobs=blobs,
            workers=workers,
            author=people[author],
            signer=leader,
            type_code=type_code,
            subject=subject,
            urgency=urgency,
            recipients="Các sở, ban, ngành tỉnh;\nLưu: VT.",
            pages=2,
        )
        at.advance(timedelta(minutes=40))
        await _sign_as_leader(
            db,
            clock=at,
            blobs=blobs,
            setup=setup,
            checker=checker,
            document=document,
            leader=leader,
        )
        at.advance(timedelta(minutes=20))
        await issue.issue(
            db,
            clock=at,
            blobs=blobs,
            setup=setup,
            clerk=clerk,
            document_id=document.id,
            unit_ids=[units[short] for short in informed],
        )
    return len(SIGNED)


async def _sign_as_leader(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    setup: SigningSetup,
    checker: SignatureChecker,
    document: Document,
    leader: User,
) -> None:
    """What a confirmed signing transaction stores (signing_flow.transactions and run): the
    leader's certified signature as a new version, the document signed, an audit entry."""
    draft = await drafts.draft_of(db, document.id)
    assert draft is not None
    await db.refresh(document, ["files"])
    main = next(f for f in document.files if f.kind == "main")
    base = main.current
    prepared = await prepare_signature(
        pdf=await blobs.get(base.sha256),
        signer_cert=setup.cert(leader.username),
        chain=setup.chain,
        appearance=LeaderAppearance(
            signature_image=setup.signature_image(leader.username),
            page=draft.sign_page,
            box=drafts.leader_box(draft),
        ),
        level=PadesLevel.B_LT,
        certify=True,
        reason=await transactions.signature_reason(db, draft),
    )
    value = await setup.keys.key(leader.username).sign(dtbs=prepared.dtbs)
    signed = await finish_signature(
        state=prepared.state, signature_value=value, services=setup.services
    )
    version = FileVersion(
        file_id=main.id,
        version=base.version + 1,
        sha256=await blobs.put(signed),
        size=len(signed),
        media_type="application/pdf",
        page_count=base.page_count,
        reason="lãnh đạo ký số",
        derived_from=[base.sha256],
        created_by_id=leader.id,
        created_at=clock.now(),
    )
    db.add(version)
    document.status = catalogue.Status.SIGNED
    document.signature_check = await checker.check(signed, has_signatures=True)
    await db.flush()
    await db.refresh(main, ["versions"])
    await audit.record(
        db,
        clock=clock,
        action="document.signed",
        actor_id=leader.id,
        object_type="document",
        object_id=document.id,
        detail={
            "transaction": "demo",
            "version": version.version,
            "sha256": version.sha256,
            "dtbs_hash": hashlib.sha256(prepared.dtbs).hexdigest(),
        },
    )
