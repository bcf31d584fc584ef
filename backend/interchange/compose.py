"""An issued document as an edXML packet, and its sending (`send_issued`).

The packet carries what the register and the Decree 30 header say (số/ký hiệu, date, place,
type, trích yếu, signer, nơi nhận, độ khẩn, pages), the issued PDF as sealed and its phụ lục
as signed: the PAdES signatures inside them are what binds. The packet itself is signed
(XML-DSig, `xmlsig.sign_packet`) with the issuing agency's seal key — the key that sealed the
PDF, on its PKCS#11 token — and carries the seal's certificate chain in `KeyInfo`
(`xmlsig.seal_packet`, run in a thread: the token blocks).

Without a seal key (`seal=None`: no signing set-up, or a seal certificate that is not RSA, which
packets cannot be signed with) the packet still goes, unsigned, with a warning in the log and on
the document's tracking panel (`AxisDispatch.signed_by` empty): the PAdES seal inside the PDF is
what the recipient registers on, and most systems on the axis send no packet signature at all,
so holding back an issued, numbered document for it would serve nobody. A token that fails while
signing is an error (`PacketSigningError`): the issue rolls back and the clerk tries again, as
when sealing fails.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.blobs import BlobStore
from backend.core.clock import VIETNAM, Clock
from backend.core.errors import ValidationError
from backend.core.models import Agency, User
from backend.documents import catalogue
from backend.documents.tables import Document, DocumentFile
from backend.interchange import edxml, outbox, xmlsig
from backend.interchange.docid import DocumentId
from backend.interchange.packet import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPacket,
    DocumentType,
    OtherInfo,
    SignerInfo,
    StaffInfo,
    TraceHeader,
)
from backend.interchange.replacements import Replacing
from backend.interchange.status import Organisation
from backend.interchange.tables import AxisDispatch

log = logging.getLogger(__name__)

# QCVN 102 SĐ1:2022 list B codes of the Decree 30 administrative types whose code was legible
# in the sources (README §3.5); the others are written 0 with their name, which receivers trust
# first [unverified: confirm the table with the province/VPCP before go-live].
ADMINISTRATIVE_CODES = {
    "NQ": 1, "QD": 2, "CT": 3, "QC": 4, "QYD": 5, "TC": 6, "TB": 7, "HD": 8, "CTR": 9,
    "CV": 18, "CD": 19, "BGN": 20, "BTT": 22, "GUQ": 24, "GM": 25, "GGT": 26,
}  # fmt: skip
LEGAL_CODES = {"QPPL-NQ": 5, "QPPL-QD": 8}
NEW_REASON = "Văn bản điện tử mới"
REPLACE_REASON = "Văn bản thay thế"


def document_type(type_code: str) -> DocumentType:
    """`Type` 1 (list A, QPPL) or 2 (list B, hành chính), the code in that list, the name."""
    known = catalogue.TYPES[type_code]
    if known.legal:
        name = known.name.split(" (")[0]
        return DocumentType(type=1, detail=LEGAL_CODES.get(type_code, 0), name=name)
    return DocumentType(type=2, detail=ADMINISTRATIVE_CODES.get(type_code, 0), name=known.name)


def document_key(issuer: Agency, document: Document) -> DocumentId:
    if document.number is None or document.issue_date is None:
        raise ValidationError(
            "Văn bản chưa có số và ngày ban hành: phát hành văn bản trước khi gửi qua trục.",
            "The document has no number and date yet: issue it before sending it over the axis.",
        )
    return DocumentId(
        organ_id=issuer.code,
        promulgated=document.issue_date,
        number=f"{document.number:02d}",
        notation=document.symbol,
    )


def _organisation(agency: Agency, parent: Agency | None) -> Organisation:
    return Organisation(
        organ_id=agency.code,
        organization_in_charge=parent.name if parent is not None else agency.name,
        organ_name=agency.name,
        email=agency.mail,
    )


def build(
    *,
    document: Document,
    issuer: Agency,
    issuer_parent: Agency | None,
    recipients: Sequence[outbox.Recipient],
    files: Sequence[tuple[str, bytes]],
    clerk: User,
    now: datetime,
    business: Business | None = None,
) -> DocumentPacket:
    """The packet of an issued document: new (type 0) unless `business` says otherwise (its
    DocumentId and StaffInfo are filled here)."""
    key = document_key(issuer, document)
    local_now = now.astimezone(VIETNAM).replace(tzinfo=None)
    staff = StaffInfo(department="", staff=clerk.full_name, mobile=clerk.phone or "", email="")
    if business is None:
        business = Business(doc_type=BusinessDocType.NEW, reason=NEW_REASON)
    return DocumentPacket(
        sender=_organisation(issuer, issuer_parent),
        recipients=tuple(Organisation(organ_id=r.code, organ_name=r.name) for r in recipients),
        document_id=str(key),
        code=Code(number=key.number, notation=key.notation),
        place=document.issue_place or issuer.place_name,
        promulgated=document.issue_date,
        doc_type=document_type(document.type_code),
        subject=document.subject,
        content=document.subject,
        signer=SignerInfo(
            competence=document.signer_competence,
            position=document.signer_title,
            full_name=document.signer_name,
        ),
        due_date=document.deadline,
        to_places=tuple(line.strip() for line in document.recipients.splitlines() if line.strip()),
        other=OtherInfo(
            priority=document.urgency,
            sphere="",
            typer_notation="",
            promulgation_amount=1,
            page_amount=document.page_count,
            direction=False,
            appendixes=tuple(name for name, _ in files[1:]),
        ),
        response_for=(),
        steering_type=0,
        trace=(TraceHeader(organ_id=issuer.code, timestamp=local_now),),
        business=replace(business, document_id=str(key), staff=staff),
        attachments=tuple(
            Attachment(
                content_id=f"{key.number}-{index}",
                name=name,
                description="Văn bản" if index == 0 else "Phụ lục",
                content_type="application/pdf",
                data=data,
            )
            for index, (name, data) in enumerate(files)
        ),
        warnings=(),
    )


async def named(db: AsyncSession, codes: Sequence[str]) -> list[outbox.Recipient]:
    """Recipients by mã định danh, with their names from the agencies table (the directory)."""
    wanted = [code.strip().upper() for code in codes]
    found = await db.execute(select(Agency.code, Agency.name).where(Agency.code.in_(wanted)))
    names = {code: name for code, name in found}
    return [outbox.Recipient(code, names.get(code, code)) for code in wanted]


async def issued_files(
    db: AsyncSession, blobs: BlobStore, document: Document
) -> list[tuple[str, bytes]]:
    """The issued PDF, then each phụ lục, as their newest (sealed, signed) versions."""
    rows = await db.scalars(
        select(DocumentFile)
        .where(
            DocumentFile.document_id == document.id, DocumentFile.kind.in_(["main", "attachment"])
        )
        .order_by((DocumentFile.kind != "main"), DocumentFile.position)
    )
    files = []
    for file in rows:
        name = file.name if file.name.lower().endswith(".pdf") else f"{file.name}.pdf"
        files.append((name, await blobs.get(file.current.sha256)))
    return files


async def send_issued(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    document: Document,
    issuer: Agency,
    recipients: Sequence[outbox.Recipient],
    clerk: User,
    seal: xmlsig.PacketSeal | None,
    replacing: Replacing | None = None,
) -> AxisDispatch:
    """Queue an issued document to its recipients over the axis, in the caller's transaction
    (the one that issues it, or a later "Gửi qua trục"), signed with `seal` (see the module
    docstring for `None`); `replacing` (checked by `replacements.replacing`) makes it a
    replacement of an earlier one (type 3)."""
    if document.status != catalogue.Status.ISSUED:
        raise ValidationError(
            "Chỉ gửi qua trục văn bản đã phát hành.",
            "Only issued documents are sent over the axis.",
        )
    parent = await db.get(Agency, issuer.parent_id) if issuer.parent_id else None
    files = await issued_files(db, blobs, document)
    packet = build(
        document=document,
        issuer=issuer,
        issuer_parent=parent,
        recipients=recipients,
        files=files,
        clerk=clerk,
        now=clock.now(),
        business=replacing.business(REPLACE_REASON) if replacing else None,
    )
    return await queue(
        db,
        clock=clock,
        blobs=blobs,
        packet=packet,
        document_id=document.id,
        issuer=issuer,
        recipients=recipients,
        clerk=clerk,
        seal=seal,
        replaces_document_id=replacing.document_id if replacing else None,
    )


async def queue(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    packet: DocumentPacket,
    document_id: int,
    issuer: Agency,
    recipients: Sequence[outbox.Recipient],
    clerk: User,
    seal: xmlsig.PacketSeal | None,
    about: dict[str, int] | None = None,
    replaces_document_id: int | None = None,
) -> AxisDispatch:
    """Serialise a document packet, sign it with `seal` (see the module docstring for `None`)
    and queue it to its recipients (`outbox.dispatch`), in the caller's transaction: a new
    document's, a replacement's or an update's (`about`: the deliveries it updates)."""
    data = edxml.build_document(packet)
    if seal is not None:
        data = await xmlsig.seal_packet(data, seal)
    else:
        log.warning(
            "document %s (%s) sent over the axis unsigned: no seal key to sign its packet with",
            document_id,
            packet.document_id,
        )
    dispatch = await outbox.dispatch(
        db,
        clock=clock,
        blobs=blobs,
        document_id=document_id,
        sender=issuer,
        document_key=packet.document_id,
        notation=packet.code.text,
        packet=data,
        recipients=recipients,
        actor_id=clerk.id,
        business_type=int(packet.business.doc_type),
        reason=packet.business.reason if packet.business.doc_type is BusinessDocType.UPDATE else "",
        about=about,
        replaces_document_id=replaces_document_id,
    )
    dispatch.signed_by = seal.subject if seal is not None else ""
    return dispatch
