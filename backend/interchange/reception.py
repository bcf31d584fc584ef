"""The clerk's side of receiving over the axis: "Văn bản đến qua trục".

A received document waits (`pending`, 01 already sent) until the clerk registers it — it gets
its số đến in the one yearly series, source "Trục liên thông", and 03 goes back — or returns it
with a reason (02). A quarantined packet can only be returned. A recall the sender asks for
after registration is the clerk's decision: accepted (15), the document is cancelled here as
Decree 30 Art. 18.4 says — marked recalled, its open assignments closed, never deleted — or
refused with a reason (16); an update of a registered document likewise (`updates.answer`).
Later handling sends 04/05/06 by itself (`follow_handling`).
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.errors import ConflictError, NotFoundError, ValidationError
from backend.core.models import User
from backend.documents import catalogue, textnorm
from backend.documents.forms import IncomingForm
from backend.documents.intake import Limits, Registrar, Upload, register_incoming
from backend.documents.tables import Document
from backend.documents.verification import SignatureChecker
from backend.documents.workers import PdfWorkers
from backend.interchange import edxml, statuses
from backend.interchange.packet import DocumentPacket, type_name
from backend.interchange.status import StatusCode
from backend.interchange.tables import AxisReceived, AxisStatusEvent, RecallState, ReceivedState
from backend.workflow import assignments
from backend.workflow.assignments import Actor

INBOX_STATES = (ReceivedState.PENDING, ReceivedState.QUARANTINED)
# Local document status → the status the sender is told (README §9.6).
FOLLOWED: dict[str, StatusCode] = {
    catalogue.Status.ASSIGNED: StatusCode.ASSIGNED,
    catalogue.Status.IN_PROGRESS: StatusCode.PROCESSING,
    catalogue.Status.COMPLETED: StatusCode.COMPLETED,
}


async def inbox(db: AsyncSession, *, agency_id: int) -> list[AxisReceived]:
    """What waits for the clerk: documents to register or return, then quarantined packets;
    the most urgent first, then the oldest."""
    return list(
        await db.scalars(
            select(AxisReceived)
            .where(AxisReceived.agency_id == agency_id, AxisReceived.state.in_(INBOX_STATES))
            .order_by(
                (AxisReceived.state == ReceivedState.QUARANTINED).asc(),
                AxisReceived.urgency.desc(),
                AxisReceived.fetched_at,
            )
        )
    )


async def recalls(db: AsyncSession, *, agency_id: int) -> list[AxisReceived]:
    """Registered documents whose sender asks for them back."""
    return list(
        await db.scalars(
            select(AxisReceived).where(
                AxisReceived.agency_id == agency_id,
                AxisReceived.recall == RecallState.REQUESTED,
                AxisReceived.state == ReceivedState.REGISTERED,
            )
        )
    )


async def get(db: AsyncSession, *, agency_id: int, received_id: int) -> AxisReceived:
    row = await db.get(AxisReceived, received_id, with_for_update=True)
    if row is None or row.agency_id != agency_id or row.kind not in {"edoc", ""}:
        raise NotFoundError(
            "Không tìm thấy văn bản nhận qua trục.", "No such document received from the axis."
        )
    return row


async def packet_of(blobs: BlobStore, row: AxisReceived, *, max_bytes: int) -> DocumentPacket:
    return await packet_of_bytes(await blobs.get(row.packet_sha256), max_bytes=max_bytes)


async def packet_of_bytes(data: bytes, *, max_bytes: int) -> DocumentPacket:
    """The document a packet carries; parsed off the event loop (packets run to tens of MB)."""
    packet = await asyncio.to_thread(edxml.parse_any, data, max_bytes=max_bytes)
    if not isinstance(packet, DocumentPacket):
        raise NotFoundError("Gói tin không phải văn bản.", "The packet is not a document.")
    return packet


def incoming_form(packet: DocumentPacket) -> IncomingForm:
    """The register entry as the packet describes it."""
    number_text = packet.code.number.strip()
    return IncomingForm(
        type_code=local_type(type_name(packet.doc_type)),
        subject=packet.subject,
        number=int(number_text) if number_text.isdigit() else None,
        symbol=packet.code.notation if number_text.isdigit() else packet.code.text,
        issue_date=packet.promulgated,
        issuer_name=packet.sender.organ_name,
        issuer_code=packet.sender.organ_id.upper(),
        issue_place=packet.place,
        signer_name=packet.signer.full_name,
        signer_title=packet.signer.position,
        signer_competence=_competence(packet.signer.competence),
        urgency=catalogue.Urgency(max(0, min(packet.other.priority, 4))),
        deadline=packet.due_date,
        source=catalogue.Source.AXIS,
        recipients="\n".join(packet.to_places),
    )


def local_type(name: str) -> str:
    """The Decree 30 type of that name (diacritics and case aside; the name of a packet's type is
    `packet.type_name`); công văn when it names none (README §3.5)."""
    wanted = textnorm.fold(unicodedata.normalize("NFC", name))
    for document_type in catalogue.TYPES.values():
        if textnorm.fold(document_type.name) == wanted:
            return document_type.code
    return "CV"


def _competence(text: str) -> str:
    """KT./TL./TM./TUQ./Q. as written on the document, if the packet says one."""
    head = text.strip().upper().replace(" ", "")
    for prefix in ("KT.", "TL.", "TM.", "TUQ.", "Q."):
        if head.startswith(prefix):
            return prefix
    return ""


@dataclass(frozen=True)
class Services:
    """What registering needs of the process."""

    blobs: BlobStore
    workers: PdfWorkers
    checker: SignatureChecker
    limits: Limits
    max_packet_bytes: int


async def register(
    db: AsyncSession,
    *,
    clock: Clock,
    services: Services,
    clerk: User,
    received_id: int,
    link_to: int | None = None,
) -> Document:
    """Register a received document (số đến, source Trục liên thông) and queue 03."""
    row = await get(db, agency_id=clerk.agency_id, received_id=received_id)
    if row.state != ReceivedState.PENDING:
        raise ConflictError(
            "Văn bản này không còn chờ tiếp nhận.", "This document no longer waits for the clerk."
        )
    packet = await packet_of(services.blobs, row, max_bytes=services.max_packet_bytes)
    pdfs = [
        Upload(a.name or "van-ban.pdf", "application/pdf", a.data)
        for a in packet.attachments
        if a.data.startswith(b"%PDF")
    ]
    document = await register_incoming(
        db,
        clock=clock,
        blobs=services.blobs,
        workers=services.workers,
        registrar=Registrar(agency_id=clerk.agency_id, user_id=clerk.id, unit_id=clerk.unit_id),
        form=incoming_form(packet),
        pdfs=pdfs,
        scans=[],
        limits=services.limits,
        link_to=link_to,
        checker=services.checker,
    )
    row.state = ReceivedState.REGISTERED
    row.document_id = document.id
    row.decided_by_id = clerk.id
    row.decided_at = clock.now()
    await statuses.queue(
        db,
        clock=clock,
        received=row,
        status=statuses.Outgoing(StatusCode.ACCEPTED, staff=clerk.full_name),
    )
    return document


def reason_text(reason: str) -> str:
    text = " ".join(reason.split())
    if len(text) < 5:
        raise ValidationError(
            "Hãy ghi lý do (ít nhất 5 ký tự) để cơ quan gửi biết.",
            "Give a reason (at least 5 characters) for the sending agency.",
        )
    if len(text) > statuses.MAX_REASON:
        raise ValidationError(
            f"Lý do dài quá {statuses.MAX_REASON} ký tự.",
            f"The reason is longer than {statuses.MAX_REASON} characters.",
        )
    return text


async def refuse(
    db: AsyncSession, *, clock: Clock, clerk: User, received_id: int, reason: str
) -> AxisReceived:
    """Return a received document to its sender (02, with the reason); nothing is registered."""
    text = reason_text(reason)
    row = await get(db, agency_id=clerk.agency_id, received_id=received_id)
    if row.state not in INBOX_STATES:
        raise ConflictError(
            "Văn bản này không còn chờ tiếp nhận.", "This document no longer waits for the clerk."
        )
    if not row.sender_code:
        raise ValidationError(
            "Gói tin không đọc được nơi gửi nên không trả lại qua trục được; hãy liên hệ cơ quan "
            "gửi bằng kênh khác.",
            "The packet's sender cannot be read, so it cannot be returned over the axis; "
            "contact the sender another way.",
        )
    row.state = ReceivedState.REFUSED
    row.reason = text
    row.decided_by_id = clerk.id
    row.decided_at = clock.now()
    await statuses.queue(
        db,
        clock=clock,
        received=row,
        status=statuses.Outgoing(StatusCode.REFUSED, description=text, staff=clerk.full_name),
    )
    await audit.record(
        db,
        clock=clock,
        action="axis.refused",
        actor_id=clerk.id,
        object_type="axis_packet",
        object_id=row.id,
        detail={"reason": text, "sender": row.sender_code},
    )
    return row


async def answer_recall(
    db: AsyncSession,
    *,
    clock: Clock,
    clerk: User,
    received_id: int,
    accept: bool,
    reason: str = "",
) -> AxisReceived:
    """The clerk's answer to a recall of a registered document: 15 (the document is marked
    recalled and its open handling closed) or 16 with a reason."""
    row = await get(db, agency_id=clerk.agency_id, received_id=received_id)
    if row.recall != RecallState.REQUESTED:
        raise ConflictError(
            "Không có yêu cầu thu hồi nào đang chờ cho văn bản này.",
            "No recall request waits for this document.",
        )
    if accept:
        text = " ".join(reason.split())
        row.recall = RecallState.ACCEPTED
        code = StatusCode.CHANGE_ACCEPTED
        document = await db.get(Document, row.document_id, with_for_update=True)
        if document is not None:
            await assignments.cancel_for_recall(
                db,
                clock=clock,
                actor=Actor(clerk),
                document=document,
                sender=row.sender_name or row.sender_code,
                note=text or row.reason,
            )
    else:
        text = reason_text(reason)
        row.recall = RecallState.REFUSED
        code = StatusCode.CHANGE_REFUSED
    await answered(
        db,
        clock=clock,
        clerk=clerk,
        row=row,
        code=code,
        text=text,
        action="axis.recall_accepted" if accept else "axis.recall_refused",
    )
    return row


async def answered(
    db: AsyncSession,
    *,
    clock: Clock,
    clerk: User,
    row: AxisReceived,
    code: StatusCode,
    text: str,
    action: str,
    detail: dict[str, object] | None = None,
) -> None:
    """The clerk's answer to a recall or an update (15, or 16 with `text`): recorded on the
    packet, queued to its sender, audited."""
    row.decided_by_id = clerk.id
    row.decided_at = clock.now()
    await statuses.queue(
        db,
        clock=clock,
        received=row,
        status=statuses.Outgoing(code, description=text, staff=clerk.full_name),
        once=False,
    )
    await audit.record(
        db,
        clock=clock,
        action=action,
        actor_id=clerk.id,
        object_type="axis_packet",
        object_id=row.id,
        detail={"reason": text, "sender": row.sender_code, **(detail or {})},
    )


async def follow_handling(db: AsyncSession, *, clock: Clock, document_ids: Sequence[int]) -> int:
    """Tell the senders of these documents (those received over the axis) how their handling
    stands: 04 assigned, 05 in progress, 06 completed — each code once. Returns how many
    statuses were queued."""
    rows = await db.execute(
        select(AxisReceived, Document.status)
        .join(Document, Document.id == AxisReceived.document_id)
        .where(
            AxisReceived.document_id.in_(document_ids),
            AxisReceived.state == ReceivedState.REGISTERED,
        )
    )
    queued = 0
    for row, status in rows:
        code = FOLLOWED.get(status)
        if code is None:
            continue
        if await statuses.queue(db, clock=clock, received=row, status=statuses.Outgoing(code)):
            queued += 1
    return queued


async def catch_up(db: AsyncSession, *, clock: Clock) -> int:
    """`follow_handling` for every registered document whose handling has moved past what its
    sender was told (the local status codes are the axis codes: 04, 05, 06)."""
    told = (
        select(AxisStatusEvent.id)
        .where(
            AxisStatusEvent.received_id == AxisReceived.id,
            AxisStatusEvent.direction == "out",
            AxisStatusEvent.code == Document.status,
        )
        .exists()
    )
    behind = list(
        await db.scalars(
            select(AxisReceived.document_id)
            .join(Document, Document.id == AxisReceived.document_id)
            .where(
                AxisReceived.state == ReceivedState.REGISTERED,
                Document.status.in_(list(FOLLOWED)),
                ~told,
            )
        )
    )
    ids = [d for d in behind if d is not None]
    return await follow_handling(db, clock=clock, document_ids=ids) if ids else 0
