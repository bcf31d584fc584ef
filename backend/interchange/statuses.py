"""Business statuses over the axis: the ones we send about documents we received, and the ones
recipients send back about documents we sent.

Sent (QCVN 102 status packets, README §5.2): 01 when a packet is stored (automatically, the same
day as Decree 30 Art. 21.2c asks), 02 with the reason when the clerk returns it, 03 when it is
registered, then 04/05/06 as the local handling goes (assigned, in progress, completed), and
15/16 to answer a recall or an update; and 13 to ask for a document we sent back — as a status
packet, or as a BussinessDocType-1 document packet repeating the original's header (README §5.3
B), recorded the same way. Each is a row of the timeline (`AxisStatusEvent`, direction `out`)
and a job that sends it; one job per (packet, code), so a step recorded twice sends once.

Received: applied to the delivery of our document to that recipient. The current status only
moves forward (01 < 03 < 04 < 05 < 06; 02 ends it), a packet older than the one applied for
the same code is kept in the timeline but changes nothing, and 15/16 answer our recall, else
our update (a recall waiting is answered first: the codes do not say which they answer).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, jobs
from backend.core.clock import VIETNAM, Clock
from backend.core.jobs import ClaimedJob
from backend.core.models import Agency
from backend.interchange import connection, docid, edxml, xmlsig
from backend.interchange.context import ExchangeContext
from backend.interchange.errors import InvalidDocumentIdError
from backend.interchange.packet import (
    Business,
    BusinessDocType,
    DocumentPacket,
    TraceHeader,
)
from backend.interchange.status import (
    Organisation,
    ResponseFor,
    StaffInfo,
    StatusCode,
    StatusPacket,
    build_status,
)
from backend.interchange.tables import (
    AxisDelivery,
    AxisDispatch,
    AxisReceived,
    AxisStatusEvent,
    RecallState,
)

SEND_STATUS_JOB = "interchange.send_status"

# What each code says, as the VPCP kit's own packets word it (README §3.2).
LABELS: dict[StatusCode, tuple[str, str]] = {
    StatusCode.RECEIVED: ("Đã đến", "Received"),
    StatusCode.REFUSED: ("Từ chối tiếp nhận", "Refused"),
    StatusCode.ACCEPTED: ("Đã tiếp nhận, vào sổ", "Registered"),
    StatusCode.ASSIGNED: ("Đã phân công xử lý", "Assigned"),
    StatusCode.PROCESSING: ("Đang xử lý", "In progress"),
    StatusCode.COMPLETED: ("Hoàn thành", "Completed"),
    StatusCode.RECALL_REQUESTED: ("Yêu cầu lấy lại", "Recall requested"),
    StatusCode.CHANGE_ACCEPTED: ("Đồng ý thu hồi/cập nhật", "Recall/update accepted"),
    StatusCode.CHANGE_REFUSED: ("Từ chối thu hồi/cập nhật", "Recall/update refused"),
}

# The Description written in the packets we send, after the VPCP kit's samples.
DESCRIPTIONS: dict[StatusCode, str] = {
    StatusCode.RECEIVED: "Đã đến - Phần mềm QLVB đã nhận nhưng văn thư chưa xử lý",
    StatusCode.ACCEPTED: "Tiếp nhận văn bản điện tử, vào sổ văn bản đến của đơn vị",
    StatusCode.ASSIGNED: "Lãnh đạo: Phân công xử lý",
    StatusCode.PROCESSING: "Đang xử lý văn bản đến",
    StatusCode.COMPLETED: "Hoàn thành xử lý văn bản đến",
    StatusCode.CHANGE_ACCEPTED: "Văn thư đồng ý yêu cầu cập nhật, lấy lại",
}

# The forward order of a recipient's handling; 02 (returned) ends it.
RANK = {
    StatusCode.RECEIVED: 1,
    StatusCode.ACCEPTED: 2,
    StatusCode.ASSIGNED: 3,
    StatusCode.PROCESSING: 4,
    StatusCode.COMPLETED: 5,
    StatusCode.REFUSED: 6,
}
MAX_REASON = 1000


def label(code: str, language: str = "vi") -> str:
    try:
        vi, en = LABELS[StatusCode(code)]
    except ValueError:
        return code
    return vi if language == "vi" else en


def match_key(
    document_id: str, *, organ_id: str = "", code: str = "", day: date | None = None
) -> str:
    """The key a DocumentId is matched on (`docid.key_text`); when the id does not parse (UUIDs
    occur), the issuing organ, date and số/ký hiệu given separately, or "" without them."""
    try:
        return docid.parse_document_id(document_id).key_text()
    except InvalidDocumentIdError:
        return docid.key_text(organ_id, day, code) if organ_id and code else ""


@dataclass(frozen=True)
class Outgoing:
    """A status we are about to send about a packet we received."""

    code: StatusCode
    description: str = ""
    staff: str = ""


async def queue(
    db: AsyncSession,
    *,
    clock: Clock,
    received: AxisReceived,
    status: Outgoing,
    once: bool = True,
) -> AxisStatusEvent | None:
    """Record a status to send about `received` and queue its job, in the caller's
    transaction. With `once`, a code already sent (or queued) for this packet is not sent again:
    what the caller gets is None."""
    if once:
        existing = await db.scalar(
            select(AxisStatusEvent.id).where(
                AxisStatusEvent.received_id == received.id,
                AxisStatusEvent.direction == "out",
                AxisStatusEvent.code == status.code.value,
            )
        )
        if existing is not None:
            return None
    return await _queue_out(
        db,
        clock=clock,
        event=AxisStatusEvent(
            received_id=received.id,
            code=status.code.value,
            description=status.description or DESCRIPTIONS.get(status.code, ""),
            staff=status.staff,
        ),
    )


async def queue_recall(
    db: AsyncSession,
    *,
    clock: Clock,
    delivery: AxisDelivery,
    reason: str,
    staff: str,
    message_type: str = "status",
) -> AxisStatusEvent:
    """Ask a recipient for a document back (13, the reason in Description; or, `message_type`
    "edoc", a type-1 packet with the reason in BussinessDocReason), in the caller's
    transaction."""
    return await _queue_out(
        db,
        clock=clock,
        event=AxisStatusEvent(
            delivery_id=delivery.id,
            code=StatusCode.RECALL_REQUESTED.value,
            description=reason,
            staff=staff,
            message_type=message_type,
        ),
    )


def recall_packet(
    original: DocumentPacket, *, reason: str, staff: str, at: datetime
) -> DocumentPacket:
    """The recall of a document we sent as a BussinessDocType-1 packet: the original's header
    (same DocumentId, số/ký hiệu, To list), the reason, no files (README §5.3 B; whether a
    partner wants the files repeated is [unverified])."""
    return replace(
        original,
        trace=(TraceHeader(organ_id=original.sender.organ_id, timestamp=at),),
        business=Business(
            doc_type=BusinessDocType.RECALL,
            document_id=original.document_id,
            reason=reason,
            staff=StaffInfo(staff=staff),
        ),
        attachments=(),
        warnings=(),
    )


async def _queue_out(db: AsyncSession, *, clock: Clock, event: AxisStatusEvent) -> AxisStatusEvent:
    """Record a status we send (about a received document, or a recall of one we sent) and
    queue the job that sends it."""
    now = clock.now()
    event.direction, event.state = "out", "queued"
    event.occurred_at = event.recorded_at = now
    db.add(event)
    await db.flush()
    await jobs.enqueue(
        db,
        clock=clock,
        kind=SEND_STATUS_JOB,
        payload={"event": event.id},
        idempotency_key=f"{SEND_STATUS_JOB}:{event.id}",
        max_attempts=8,
    )
    return event


async def _addressed(db: AsyncSession, event: AxisStatusEvent) -> tuple[Agency, ResponseFor]:
    """Who sends a status (one of our agencies) and the document it is about, addressed to the
    other side: for a received document its sender; for a recall, our recipient."""
    if event.received_id is not None:
        received = await db.get_one(AxisReceived, event.received_id)
        ours = await db.get_one(Agency, received.agency_id)
        return ours, ResponseFor(
            organ_id=received.sender_code,
            code=received.number_symbol,
            promulgation_date=received.promulgated,
            document_id=received.document_key_text,
        )
    delivery = await db.get_one(AxisDelivery, event.delivery_id)
    record = await db.get_one(AxisDispatch, delivery.dispatch_id)
    ours = await db.get_one(Agency, record.agency_id)
    key = docid.parse_document_id(record.document_key)
    return ours, ResponseFor(
        organ_id=delivery.recipient_code,
        code=record.notation,
        promulgation_date=key.promulgated,
        document_id=record.document_key,
    )


async def send_job(ctx: ExchangeContext, job: ClaimedJob) -> None:
    """Send one status packet; a failure is retried by the runner (a status sent twice is
    applied once by any receiver: statuses are idempotent)."""
    event_id = int(job.payload["event"])
    async with ctx.sessions() as db:
        event = await db.get_one(AxisStatusEvent, event_id)
        if event.state == "sent":
            return
        ours, about = await _addressed(db, event)
        at = event.occurred_at.astimezone(VIETNAM).replace(tzinfo=None)
        packet = StatusPacket(
            sender=Organisation(organ_id=ours.code, organ_name=ours.name, email=ours.mail),
            response_for=about,
            staff=StaffInfo(staff=event.staff),
            code=StatusCode(event.code),
            description=event.description,
            timestamp=at,
        )
        original_sha256 = ""
        if event.message_type == "edoc" and event.delivery_id is not None:
            delivery = await db.get_one(AxisDelivery, event.delivery_id)
            original_sha256 = (await db.get_one(AxisDispatch, delivery.dispatch_id)).packet_sha256
    if original_sha256:
        original = await asyncio.to_thread(
            edxml.parse_document,
            await ctx.blobs.get(original_sha256),
            max_bytes=ctx.settings.axis_max_packet_mb * 1024 * 1024,
        )
        recall = recall_packet(original, reason=event.description, staff=event.staff, at=at)
        message_type: Literal["edoc", "status"] = "edoc"
        data = edxml.build_document(recall)
    else:
        message_type, data = "status", build_status(packet)
    if (seal := ctx.packet_seal) is not None:
        # Signed like our document packets (after the trace header list, or a status's
        # MessageHeader); without a seal key it goes unsigned, as most systems' statuses do.
        data = await xmlsig.seal_packet(data, seal)
    async with connection.client(ctx.settings) as axis:
        doc_id = await axis.send_edoc(
            from_code=ours.code, message_type=message_type, data=data, to=[about.organ_id]
        )
    async with ctx.sessions() as db, db.begin():
        event = await db.get_one(AxisStatusEvent, event_id)
        event.state = "sent"
        event.axis_doc_id = doc_id


async def apply(
    db: AsyncSession, *, clock: Clock, received: AxisReceived, packet: StatusPacket
) -> bool:
    """Apply a status a recipient sent about one of our documents; False when no delivery of
    ours matches it (the caller parks it)."""
    key = match_key(
        packet.response_for.document_id,
        organ_id=packet.response_for.organ_id,
        code=packet.response_for.code,
        day=packet.response_for.promulgation_date,
    )
    delivery = await _delivery_for(db, key=key, recipient=packet.sender.organ_id)
    if delivery is None:
        return False
    occurred = packet.timestamp.replace(tzinfo=VIETNAM)
    db.add(
        AxisStatusEvent(
            direction="in",
            delivery_id=delivery.id,
            received_id=received.id,
            code=packet.code.value,
            description=packet.description,
            staff=packet.staff.staff,
            occurred_at=occurred,
            recorded_at=clock.now(),
            state="applied",
        )
    )
    changed = _advance(delivery, packet.code, occurred, packet.description)
    if changed:
        delivery.updated_at = clock.now()
        await audit.record(
            db,
            clock=clock,
            action="axis.status_received",
            actor_id=None,
            object_type="document",
            object_id=delivery.document_id,
            detail={"recipient": delivery.recipient_code, "code": packet.code.value},
        )
    return True


def _advance(delivery: AxisDelivery, code: StatusCode, at: datetime, note: str) -> bool:
    if code in (StatusCode.CHANGE_ACCEPTED, StatusCode.CHANGE_REFUSED):
        answer = RecallState.ACCEPTED if code is StatusCode.CHANGE_ACCEPTED else RecallState.REFUSED
        if delivery.recall == RecallState.REQUESTED:
            delivery.recall = answer
            delivery.status_note = note
            return True
        if delivery.update_state == RecallState.REQUESTED:
            delivery.update_state = answer
            delivery.update_note = note
            return True
        return False
    if code not in RANK:
        return False
    current = StatusCode(delivery.status_code) if delivery.status_code else None
    if current is StatusCode.REFUSED:
        return False
    if current is not None and RANK[current] > RANK[code]:
        return False
    if current is code and delivery.status_at is not None and at <= delivery.status_at:
        return False
    delivery.status_code = code.value
    delivery.status_at = at
    delivery.status_note = note
    return True


async def _delivery_for(db: AsyncSession, *, key: str, recipient: str) -> AxisDelivery | None:
    if not key:
        return None
    organ, _, _ = key.partition("|")
    # Few dispatches per document: filter on the recipient, then compare the keys here.
    rows = await db.execute(
        select(AxisDelivery, AxisDispatch.document_key)
        .join(AxisDispatch, AxisDispatch.id == AxisDelivery.dispatch_id)
        .where(AxisDelivery.recipient_code == recipient.strip().upper())
        .where(AxisDelivery.about_id.is_(None))
        .where(AxisDispatch.document_key.startswith(organ, autoescape=True))
        .order_by(AxisDelivery.id.desc())
    )
    for delivery, document_key in rows:
        if match_key(document_key) == key:
            return delivery
    return None
