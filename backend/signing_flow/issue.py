"""Issuance (phát hành) of a signed outgoing document by the clerk: the number and issue date
are taken from the register and filled into the document's form fields, in the same revision as
the agency's seal signature (the agency key on PKCS#11) in the empty seal field — plain form
filling and a signature in an existing field, both allowed by the leader's certification
(FILL_FORMS), so the leader's signature stays valid. The seal locks the number and date and is
made at B-LTA; the version remembers until when its archival timestamp holds
(`signing_flow.archive` renews it). Each attachment (phụ lục, a separate file) is then signed with
the agency key as well, text only (Decree 30: number and symbol and signing time, top right of
page 1, no seal image), as a new version of that file.

Then it goes where the clerk chose, in the same transaction: to agencies over the national axis
(one edXML packet, XML-DSig-signed with the same seal key: `interchange.compose`), and to units
of the agency itself "để biết" (`workflow.assignments.inform_units`).

Atomic: the number is taken in the same SQL transaction that stores the sealed version and marks
the document issued; if sealing fails, the counter update rolls back with it and no number is
used up."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.blobs import BlobStore
from backend.core.clock import VIETNAM, Clock
from backend.core.errors import NotFoundError, ValidationError
from backend.core.models import Agency, User
from backend.documents import catalogue
from backend.documents.registers import register_year, take_number
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.documents.verification import SignatureChecker
from backend.interchange import compose, replacements
from backend.push import outbox, payloads
from backend.signing_flow import drafts, keyring
from backend.signing_flow.events import DocumentIssued
from backend.signing_flow.setup import SigningSetup
from backend.signing_flow.tables import Draft
from backend.workflow import assignments
from backend.workflow.assignments import Actor
from signing import (
    AttachmentStampAppearance,
    PadesLevel,
    SigningError,
    archive_horizon,
    finish_signature,
    prepare_seal_signature,
    prepare_signature,
)

RECENT = 10


async def issuable(db: AsyncSession, *, agency_id: int) -> list[Document]:
    return list(
        await db.scalars(
            select(Document)
            .where(
                Document.agency_id == agency_id,
                Document.direction == catalogue.Direction.OUTGOING,
                Document.status == catalogue.Status.SIGNED,
            )
            .order_by(Document.urgency.desc(), Document.created_at)
        )
    )


async def recently_issued(db: AsyncSession, *, agency_id: int) -> list[Document]:
    return list(
        await db.scalars(
            select(Document)
            .where(
                Document.agency_id == agency_id,
                Document.direction == catalogue.Direction.OUTGOING,
                Document.status == catalogue.Status.ISSUED,
            )
            .order_by(Document.issue_date.desc(), Document.number.desc())
            .limit(RECENT)
        )
    )


async def _sign_attachment(
    *, pdf: bytes, setup: SigningSetup, reference: str, agency_name: str
) -> bytes:
    prepared = await prepare_signature(
        pdf=pdf,
        signer_cert=setup.cert(keyring.SEAL),
        chain=setup.chain,
        appearance=AttachmentStampAppearance(reference=reference, agency_name=agency_name),
    )
    value = await setup.keys.key(keyring.SEAL).sign(dtbs=prepared.dtbs)
    return await finish_signature(
        state=prepared.state, signature_value=value, services=setup.services
    )


async def issuing_agency(db: AsyncSession, document: Document) -> Agency:
    """The agency in whose name a document is issued: the one its signer signs for (the Chủ
    tịch listed with the office signs for the Ủy ban nhân dân), else the document's own. Its
    short name makes the symbol ("QĐ-UBND"), its name the seal caption, its place the date."""
    draft = await db.get(Draft, document.id)
    signer = await db.get(User, draft.signer_id) if draft is not None else None
    if signer is not None and signer.signs_for_agency_id is not None:
        return await db.get_one(Agency, signer.signs_for_agency_id)
    return await db.get_one(Agency, document.agency_id)


async def _place_of(db: AsyncSession, document: Document) -> str:
    own = await db.get_one(Agency, document.agency_id)
    return own.place_name or own.name


def symbol_for(type_code: str, agency: Agency) -> str:
    abbreviation = catalogue.TYPES[type_code].abbreviation
    return f"{abbreviation}-{agency.short_name}" if abbreviation else agency.short_name


async def issue(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    setup: SigningSetup,
    clerk: User,
    document_id: int,
    recipient_codes: Sequence[str] = (),
    unit_ids: Sequence[int] = (),
    replaces_document_id: int | None = None,
) -> Document:
    """Number, seal and issue; `recipient_codes` (agencies, by mã định danh) and `unit_ids`
    (units of the clerk's agency) are where it goes, as chosen in the recipient picker and
    checked by `interchange.directory.resolve`; `replaces_document_id`, an earlier document of
    the agency sent over the axis that this one replaces (checked by
    `interchange.replacements.replacing`)."""
    document = await db.get(Document, document_id, with_for_update=True)
    if document is None or document.agency_id != clerk.agency_id:
        raise NotFoundError("Không tìm thấy văn bản.", "No such document.")
    if document.status != catalogue.Status.SIGNED:
        raise ValidationError(
            "Chỉ phát hành được văn bản đã được lãnh đạo ký.",
            "Only documents signed by a leader can be issued.",
        )
    replacing = None
    if replaces_document_id is not None:
        replacing = await replacements.replacing(
            db,
            agency_id=clerk.agency_id,
            document_id=document.id,
            replaced_id=replaces_document_id,
            recipient_codes=recipient_codes,
        )
    agency = await issuing_agency(db, document)
    now = clock.now()
    today = now.astimezone(VIETNAM).date()
    series = catalogue.TYPES[document.type_code].series
    year = register_year(now)
    number = await take_number(
        # The register stays the document's own agency's (the office keeps one register book).
        db,
        agency_id=document.agency_id,
        direction=catalogue.Direction.OUTGOING,
        year=year,
        series=series,
    )
    document.number, document.symbol, document.issue_date = (
        number,
        symbol_for(document.type_code, agency),
        today,
    )
    document.register_year, document.register_series = year, series
    document.register_number = number
    document.search_text = drafts.search_text(
        document_type=document.type_code,
        subject=document.subject,
        signer=document.signer_name,
        recipients=document.recipients,
        number_symbol=document.number_symbol,
    )
    place = document.issue_place or agency.place_name or await _place_of(db, document)
    document.issue_place = place
    main = next(f for f in document.files if f.kind == "main")
    base = main.current
    attachments = [f for f in document.files if f.kind == "attachment"]
    signed_attachments: list[bytes] = []
    try:
        # Number and date are filled in the seal's own revision; the seal locks them, and
        # B-LTA (a document timestamp after the seal) keeps the issued file verifiable for
        # years (renewed by signing_flow.archive).
        prepared = await prepare_seal_signature(
            pdf=await blobs.get(base.sha256),
            seal_cert=setup.cert(keyring.SEAL),
            chain=setup.chain,
            seal_image=setup.seal_image(),
            agency_name=agency.name,
            level=PadesLevel.B_LTA,
            number=number,
            symbol=document.symbol,
            issue_date=today,
            place=place,
        )
        value = await setup.keys.key(keyring.SEAL).sign(dtbs=prepared.dtbs)
        sealed = await finish_signature(
            state=prepared.state, signature_value=value, services=setup.services
        )
        for attachment in attachments:
            signed = await _sign_attachment(
                pdf=await blobs.get(attachment.current.sha256),
                setup=setup,
                reference=document.number_symbol,
                agency_name=agency.name,
            )
            signed_attachments.append(signed)
    except SigningError as exc:
        raise ValidationError(
            f"Không đóng dấu được: {exc.message_vi}", f"Sealing failed: {exc.message_en}"
        ) from exc
    version = FileVersion(
        file_id=main.id,
        version=base.version + 1,
        sha256=await blobs.put(sealed),
        size=len(sealed),
        media_type="application/pdf",
        page_count=base.page_count,
        reason="cấp số, ngày ban hành và chữ ký cơ quan",
        derived_from=[base.sha256],
        created_by_id=clerk.id,
        created_at=now,
        archive_until=archive_horizon(pdf=sealed),
    )
    checker = SignatureChecker(setup.pki.trust)
    document.signature_check = await checker.check(sealed, has_signatures=True)
    version.signature_check = document.signature_check
    db.add(version)
    attachment_versions: list[dict[str, object]] = []
    for attachment, signed in zip(attachments, signed_attachments, strict=True):
        previous = attachment.current
        signed_version = FileVersion(
            file_id=attachment.id,
            version=previous.version + 1,
            sha256=await blobs.put(signed),
            size=len(signed),
            media_type="application/pdf",
            page_count=previous.page_count,
            reason="chữ ký số của cơ quan trên phụ lục",
            derived_from=[previous.sha256],
            created_by_id=clerk.id,
            created_at=now,
            signature_check=await checker.check(signed, has_signatures=True),
        )
        db.add(signed_version)
        attachment_versions.append(
            {
                "file_id": attachment.id,
                "version": signed_version.version,
                "sha256": signed_version.sha256,
            }
        )
    document.status = catalogue.Status.ISSUED
    await db.flush()
    for file in document.files:
        await db.refresh(file, ["versions"])
    await audit.record(
        db,
        clock=clock,
        action="document.issued",
        actor_id=clerk.id,
        object_type="document",
        object_id=document.id,
        detail={
            "number_symbol": document.number_symbol,
            "issue_date": today.isoformat(),
            "version": version.version,
            "sha256": version.sha256,
            "recipients": document.recipients,
            "send_to": {"agencies": list(recipient_codes), "units": list(unit_ids)},
            "attachments": attachment_versions,
        },
    )
    if recipient_codes:
        # Over the national axis, in this transaction: the packet is stored and its send job
        # queued with the issue, or neither is.
        await compose.send_issued(
            db,
            clock=clock,
            blobs=blobs,
            document=document,
            issuer=agency,
            recipients=await compose.named(db, recipient_codes),
            clerk=clerk,
            seal=setup.packet_seal(),
            replacing=replacing,
        )
    if unit_ids:
        # Units of the agency itself receive it "để biết" through the workflow, in this
        # transaction.
        await assignments.inform_units(
            db, clock=clock, actor=Actor(clerk), document=document, unit_ids=unit_ids
        )
    draft = await db.get(Draft, document.id)
    if draft is not None:
        notice = payloads.issued(
            document_id=document.id,
            subject=document.subject,
            number_symbol=document.number_symbol,
            urgency=document.urgency,
        )
        await outbox.enqueue(db, clock=clock, user_id=draft.author_id, notice=notice)
    events.record(db, DocumentIssued(document.id, document.agency_id))
    return document


__all__ = ["DocumentFile", "issuable", "issue", "recently_issued"]
