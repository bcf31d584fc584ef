"""Update (BussinessDocType 2, README §5.4): the sender re-sends a document it sent (same
DocumentId) with what changed, and the recipient agrees (15) or refuses (16).

Sending (`send`): from a sent document's tracking, to recipients the axis already has it for:
one packet with the reason (BussinessDocReason), DocumentInfo 1 when the files or the data
differ from what was sent, and the issued files as they are now. Each recipient's answer shows
on its row. The packet goes as a dispatch of its own whose deliveries point at the ones they
are about (`about_id`): the recipient's statuses stay with the document's delivery.

Receiving: the earlier packet is looked for by DocumentId among those the same sender sent to
the same agency of ours (`original_of`) — never another sender's:
- not registered yet: the update takes its place silently (`superseded`, kept) and 15 goes
  back at once (`take`); the clerk registers the new version;
- registered: the update waits (`update`) for the clerk (`answer`): 15, the document gets the
  new files as new versions (the previous ones kept), its data follows and the people
  handling it are told; or 16 with a reason;
- none: it is taken in as a new document (01 …).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.errors import ConflictError, EofficeError, NotFoundError, ValidationError
from backend.core.models import Agency, User
from backend.documents import catalogue
from backend.documents.intake import Upload, revise_incoming
from backend.documents.tables import Document
from backend.interchange import compose, edxml, outbox, reception, statuses, xmlsig
from backend.interchange.packet import Business, BusinessDocType, DocumentPacket
from backend.interchange.status import StatusCode
from backend.interchange.tables import (
    AxisDelivery,
    AxisDispatch,
    AxisReceived,
    DeliveryState,
    RecallState,
    ReceivedState,
)
from backend.workflow import assignments
from backend.workflow.assignments import Actor

# What a packet's update may apply to on our side.
ORIGINAL_STATES = (ReceivedState.PENDING, ReceivedState.QUARANTINED, ReceivedState.REGISTERED)
REVISION_REASON = "cập nhật theo yêu cầu của cơ quan gửi"


def _content(packet: DocumentPacket) -> tuple[object, ...]:
    """What an update may change: the header's data and the files (not the hop, the business
    part or the recipients)."""
    return (
        packet.code,
        packet.place,
        packet.promulgated,
        packet.doc_type,
        packet.subject,
        packet.content,
        packet.signer,
        packet.due_date,
        packet.to_places,
        packet.other,
        tuple((a.name, a.data) for a in packet.attachments),
    )


async def send(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    max_packet_bytes: int,
    document_id: int,
    delivery_ids: Sequence[int],
    reason: str,
    clerk: User,
    seal: xmlsig.PacketSeal | None,
) -> AxisDispatch:
    """The sender's "Gửi cập nhật" to the chosen recipients, in the caller's transaction, the
    packet signed with `seal` as a new document's is (`compose.queue`)."""
    text = reception.reason_text(reason)
    document = await db.get(Document, document_id)
    if document is None or document.agency_id != clerk.agency_id:
        raise NotFoundError("Không tìm thấy văn bản.", "No such document.")
    if document.status != catalogue.Status.ISSUED:
        raise ValidationError(
            "Chỉ gửi cập nhật cho văn bản đã phát hành.", "Only issued documents are updated."
        )
    chosen = list(
        await db.scalars(
            select(AxisDelivery)
            .where(
                AxisDelivery.document_id == document_id,
                AxisDelivery.id.in_(delivery_ids),
                AxisDelivery.about_id.is_(None),
                AxisDelivery.state == DeliveryState.SENT,
                AxisDelivery.recall != RecallState.ACCEPTED,
            )
            .order_by(AxisDelivery.id)
            .with_for_update()
        )
    )
    if not chosen:
        raise ValidationError(
            "Chỉ gửi cập nhật cho nơi nhận đã nhận văn bản qua trục (và chưa thu hồi).",
            "An update goes only to recipients the axis delivered the document to (not recalled).",
        )
    sent = await db.get_one(AxisDispatch, max(d.dispatch_id for d in chosen))
    issuer = await db.get_one(Agency, sent.agency_id)
    parent = await db.get(Agency, issuer.parent_id) if issuer.parent_id else None
    previous = await asyncio.to_thread(
        edxml.parse_document, await blobs.get(sent.packet_sha256), max_bytes=max_packet_bytes
    )
    recipients = [outbox.Recipient(d.recipient_code, d.recipient_name) for d in chosen]
    packet = compose.build(
        document=document,
        issuer=issuer,
        issuer_parent=parent,
        recipients=recipients,
        files=await compose.issued_files(db, blobs, document),
        clerk=clerk,
        now=clock.now(),
        business=Business(doc_type=BusinessDocType.UPDATE, reason=text),
    )
    changed = _content(packet) != _content(previous)
    packet = replace(packet, business=replace(packet.business, document_info=changed))
    record = await compose.queue(
        db,
        clock=clock,
        blobs=blobs,
        packet=packet,
        document_id=document.id,
        issuer=issuer,
        recipients=recipients,
        clerk=clerk,
        seal=seal,
        about={d.recipient_code: d.id for d in chosen},
    )
    now = clock.now()
    for delivery in chosen:
        delivery.update_state = RecallState.REQUESTED
        delivery.update_note = text
        delivery.updated_at = now
    return record


async def original_of(db: AsyncSession, row: AxisReceived) -> AxisReceived | None:
    """The earlier packet an update is about: same DocumentId, same sender, same agency of
    ours; the registered one if there is one, else the latest still waiting."""
    if not row.match_key or not row.sender_code:
        return None
    candidates = list(
        await db.scalars(
            select(AxisReceived)
            .where(
                AxisReceived.agency_id == row.agency_id,
                AxisReceived.sender_code == row.sender_code,
                AxisReceived.match_key == row.match_key,
                AxisReceived.kind == "edoc",
                AxisReceived.business_type != int(BusinessDocType.RECALL),
                AxisReceived.state.in_(ORIGINAL_STATES),
                AxisReceived.id != row.id,
            )
            .order_by(AxisReceived.id)
        )
    )
    registered = [c for c in candidates if c.state == ReceivedState.REGISTERED]
    found = registered or candidates
    return found[-1] if found else None


async def take(
    db: AsyncSession, *, clock: Clock, row: AxisReceived, original: AxisReceived
) -> bool:
    """An update of `original` was read (and can be taken in). Not registered yet, the update
    takes its place and 15 is queued: False (the caller offers it like a new one). Registered,
    it waits for the clerk — a previous update still waiting gives way to it: True."""
    row.original_id = original.id
    if original.state != ReceivedState.REGISTERED:
        original.state = ReceivedState.SUPERSEDED
        await statuses.queue(
            db,
            clock=clock,
            received=row,
            status=statuses.Outgoing(StatusCode.CHANGE_ACCEPTED),
            once=False,
        )
        return False
    earlier = await db.scalars(
        select(AxisReceived).where(
            AxisReceived.original_id == original.id,
            AxisReceived.state == ReceivedState.UPDATE,
            AxisReceived.id != row.id,
        )
    )
    for waiting in earlier:
        waiting.state = ReceivedState.SUPERSEDED
    return True


async def decline_unreadable(
    db: AsyncSession, *, clock: Clock, row: AxisReceived, problem: EofficeError
) -> None:
    """An update whose files cannot be taken in (the same checks as any received document):
    refused at once with the reason (16), the document it names left as it was — rather than
    quarantined, where the clerk's only answer, a return (02), would end the sender's tracking
    of a document that is registered here."""
    row.state = ReceivedState.DECLINED
    row.problem_vi, row.problem_en = problem.message_vi, problem.message_en
    await statuses.queue(
        db,
        clock=clock,
        received=row,
        status=statuses.Outgoing(
            StatusCode.CHANGE_REFUSED, description=problem.message_vi[: statuses.MAX_REASON]
        ),
        once=False,
    )


async def waiting(db: AsyncSession, *, agency_id: int) -> list[AxisReceived]:
    """Updates of registered documents waiting for the clerk."""
    return list(
        await db.scalars(
            select(AxisReceived)
            .where(AxisReceived.agency_id == agency_id, AxisReceived.state == ReceivedState.UPDATE)
            .order_by(AxisReceived.fetched_at)
        )
    )


async def later(db: AsyncSession, row: AxisReceived) -> list[AxisReceived]:
    """The updates of a packet we received, oldest first."""
    return list(
        await db.scalars(
            select(AxisReceived).where(AxisReceived.original_id == row.id).order_by(AxisReceived.id)
        )
    )


async def answer(
    db: AsyncSession,
    *,
    clock: Clock,
    services: reception.Services,
    clerk: User,
    received_id: int,
    accept: bool,
    reason: str = "",
) -> AxisReceived:
    """The clerk's answer to an update of a registered document: 15 (applied) or 16 with a
    reason."""
    row = await reception.get(db, agency_id=clerk.agency_id, received_id=received_id)
    original = await db.get(AxisReceived, row.original_id) if row.original_id else None
    if (
        row.state != ReceivedState.UPDATE
        or original is None
        or original.state != ReceivedState.REGISTERED
        or original.document_id is None
    ):
        raise ConflictError(
            "Không có yêu cầu cập nhật nào đang chờ cho văn bản này.",
            "No update request waits for this document.",
        )
    if accept:
        text = " ".join(reason.split())
        document = await db.get_one(Document, original.document_id, with_for_update=True)
        if document.status == catalogue.Status.RECALLED:
            raise ConflictError(
                "Văn bản đã bị thu hồi nên không cập nhật được; hãy từ chối với lý do.",
                "The document was recalled, so it cannot be updated; refuse with a reason.",
            )
        packet = await reception.packet_of(services.blobs, row, max_bytes=services.max_packet_bytes)
        pdfs = [
            Upload(a.name or "van-ban.pdf", "application/pdf", a.data)
            for a in packet.attachments
            if a.data.startswith(b"%PDF")
        ]
        await revise_incoming(
            db,
            clock=clock,
            blobs=services.blobs,
            workers=services.workers,
            document=document,
            form=reception.incoming_form(packet),
            pdfs=pdfs,
            limits=services.limits,
            checker=services.checker,
            user_id=clerk.id,
            reason=REVISION_REASON,
        )
        await assignments.notify_revised(
            db,
            clock=clock,
            actor=Actor(clerk),
            document=document,
            sender=row.sender_name or row.sender_code,
            note=row.reason,
        )
        row.state = ReceivedState.APPLIED
        row.document_id = document.id
        code = StatusCode.CHANGE_ACCEPTED
    else:
        text = reception.reason_text(reason)
        row.state = ReceivedState.DECLINED
        # Why it was refused, shown on its page like the reason an unreadable one was.
        row.problem_vi = row.problem_en = text
        code = StatusCode.CHANGE_REFUSED
    await reception.answered(
        db,
        clock=clock,
        clerk=clerk,
        row=row,
        code=code,
        text=text,
        action="axis.update_accepted" if accept else "axis.update_refused",
        detail={"original": original.id},
    )
    return row
