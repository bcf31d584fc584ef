"""Receiving from the axis: poll, keep, acknowledge, then read.

The poll job (`interchange.poll`, every `axis_poll_seconds`) lists what waits for this system,
documents and statuses, and for each packet:

1. fetches it and stores the raw bytes (blob store) with its axis DocId — unique, so a packet
   listed twice, or fetched again after a crash before the acknowledgement, is stored once;
2. commits, and only then tells the axis `done` (never before: a crash in between re-fetches);
3. reads it in a transaction of its own (`read`): a status is applied to our sent document; a
   document waits for the clerk in "Văn bản đến qua trục" with status 01 sent back; a packet
   we refuse to handle (unreadable, hostile, oversized, classified) is quarantined with the
   reason, for the clerk to return with 02 — nothing of it is registered. A packet whose read
   fails unexpectedly stays `stored` and is read again by the next poll, so a parser bug never
   loses it.

A document delivered twice (same DocumentId, new axis DocId) is kept as a duplicate of the
first and not offered for registration again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.clock import Clock
from backend.core.errors import EofficeError
from backend.core.jobs import ClaimedJob
from backend.core.models import Agency
from backend.documents import catalogue
from backend.interchange import connection, edxml, reception, statuses
from backend.interchange.context import ExchangeContext
from backend.interchange.errors import InterchangeError
from backend.interchange.packet import BusinessDocType, DocumentPacket
from backend.interchange.status import StatusCode, StatusPacket
from backend.interchange.tables import AxisReceived, RecallState, ReceivedState
from backend.interchange.vxp import Received, VxpClient

log = logging.getLogger(__name__)

POLL_JOB = "interchange.poll"
MESSAGE_TYPES: tuple[Literal["edoc", "status"], ...] = ("edoc", "status")
# Read again at each poll: stored packets whose read did not finish.
REREAD_BATCH = 50


async def poll_job(ctx: ExchangeContext, job: ClaimedJob) -> None:
    if not connection.configured(ctx.settings):
        return
    async with connection.client(ctx.settings) as axis:
        for message_type in MESSAGE_TYPES:
            for item in await axis.received(message_type=message_type):
                received_id = await take(ctx, axis, item)
                if received_id is not None:
                    await read_safely(ctx, received_id)
    async with ctx.sessions() as db:
        leftovers = list(
            await db.scalars(
                select(AxisReceived.id)
                .where(AxisReceived.state == ReceivedState.STORED)
                .order_by(AxisReceived.id)
                .limit(REREAD_BATCH)
            )
        )
    for received_id in leftovers:
        await read_safely(ctx, received_id)
    async with ctx.sessions() as db, db.begin():
        await reception.catch_up(db, clock=ctx.clock)


async def take(ctx: ExchangeContext, axis: VxpClient, item: Received) -> int | None:
    """Store one listed packet and acknowledge it; the row's id when it is new to us."""
    async with ctx.sessions() as db:
        known = await db.scalar(
            select(AxisReceived.id).where(AxisReceived.axis_doc_id == item.doc_id)
        )
    if known is not None:  # stored before a crash or a lost acknowledgement: say it again
        await axis.update_status(item.doc_id, "done")
        return None
    data = await axis.get_edoc(item.doc_id)
    sha256 = await ctx.blobs.put(data)
    try:
        async with ctx.sessions() as db, db.begin():
            ours = await db.scalar(select(Agency.id).where(Agency.code == item.to_code.upper()))
            row = AxisReceived(
                agency_id=ours,
                axis_doc_id=item.doc_id,
                message_type=item.message_type,
                packet_sha256=sha256,
                packet_size=len(data),
                fetched_at=ctx.clock.now(),
                state=ReceivedState.STORED,
            )
            db.add(row)
            await db.flush()
            received_id = row.id
    except IntegrityError:  # another runner stored it first
        return None
    await axis.update_status(item.doc_id, "done")
    return received_id


async def read_safely(ctx: ExchangeContext, received_id: int) -> None:
    try:
        await read(ctx, received_id)
    except Exception:
        # Kept `stored`: read again at the next poll, and visible to an administrator.
        log.exception("interchange: reading received packet %s failed", received_id)


async def read(ctx: ExchangeContext, received_id: int) -> None:
    async with ctx.sessions() as db, db.begin():
        row = await db.get_one(AxisReceived, received_id, with_for_update=True)
        if row.state != ReceivedState.STORED:
            return
        data = await ctx.blobs.get(row.packet_sha256)
        limit = ctx.settings.axis_max_packet_mb * 1024 * 1024
        try:
            packet = await asyncio.to_thread(edxml.parse_any, data, max_bytes=limit)
        except InterchangeError as exc:
            _quarantine(row, exc)
            await _audit(db, ctx.clock, row, "axis.quarantined")
            return
        if isinstance(packet, StatusPacket):
            await _read_status(db, ctx.clock, row, packet)
        else:
            await _read_document(db, ctx, row, packet)


def _quarantine(row: AxisReceived, exc: EofficeError) -> None:
    row.state = ReceivedState.QUARANTINED
    row.problem_vi = exc.message_vi
    row.problem_en = exc.message_en


async def _audit(db: AsyncSession, clock: Clock, row: AxisReceived, action: str) -> None:
    await audit.record(
        db,
        clock=clock,
        action=action,
        actor_id=None,
        object_type="axis_packet",
        object_id=row.id,
        detail={"axis_doc_id": row.axis_doc_id, "sender": row.sender_code, "state": row.state},
    )


async def _read_status(
    db: AsyncSession, clock: Clock, row: AxisReceived, packet: StatusPacket
) -> None:
    row.kind = "status"
    row.status_code = packet.code.value
    row.sender_code = packet.sender.organ_id.upper()
    row.sender_name = packet.sender.organ_name
    row.document_key_text = packet.response_for.document_id
    row.number_symbol = packet.response_for.code
    row.promulgated = packet.response_for.promulgation_date
    row.match_key = statuses.match_key(
        packet.response_for.document_id,
        organ_id=packet.response_for.organ_id,
        code=packet.response_for.code,
        day=packet.response_for.promulgation_date,
    )
    if packet.code is StatusCode.RECALL_REQUESTED:
        row.reason = packet.description
        # The sender asks for a document it sent us back (ResponseFor names us, README §2.4).
        applied = await _recall_requested(db, clock, row, reason=packet.description)
    else:
        applied = await statuses.apply(db, clock=clock, received=row, packet=packet)
    row.state = ReceivedState.APPLIED if applied else ReceivedState.PARKED
    await _audit(db, clock, row, "axis.status_read")


async def _read_document(
    db: AsyncSession, ctx: ExchangeContext, row: AxisReceived, packet: DocumentPacket
) -> None:
    row.kind = "edoc"
    row.business_type = int(packet.business.doc_type)
    row.sender_code = packet.sender.organ_id.upper()
    row.sender_name = packet.sender.organ_name
    row.document_key_text = packet.document_id
    row.match_key = packet.key()
    row.number_symbol = packet.code.text
    row.subject = packet.subject
    row.promulgated = packet.promulgated
    row.urgency = max(0, min(packet.other.priority, 4))
    ours = await db.get(Agency, row.agency_id) if row.agency_id is not None else None
    if ours is None or not ours.hosted:
        row.state = ReceivedState.QUARANTINED
        row.problem_vi = "Gói tin không gửi cho cơ quan nào của hệ thống này (gửi sai nơi nhận)."
        row.problem_en = "The packet is not addressed to an agency of this system."
        await _audit(db, ctx.clock, row, "axis.quarantined")
        return
    secrecy = _secrecy(packet)
    if secrecy:
        row.state = ReceivedState.QUARANTINED
        row.problem_vi = (
            f"Văn bản có độ mật “{secrecy}” không được xử lý trên hệ thống này; đề nghị trả lại "
            "để cơ quan gửi chuyển qua kênh văn bản mật."
        )
        row.problem_en = f"Documents classified “{secrecy}” are not handled here; return it."
        await _audit(db, ctx.clock, row, "axis.quarantined")
        return
    if packet.business.doc_type is BusinessDocType.RECALL:
        row.reason = packet.business.reason
        applied = await _recall_requested(db, ctx.clock, row, reason=packet.business.reason)
        row.state = ReceivedState.APPLIED if applied else ReceivedState.PARKED
        await _audit(db, ctx.clock, row, "axis.recall_read")
        return
    if packet.business.doc_type is BusinessDocType.NEW:
        first = await db.scalar(
            select(AxisReceived).where(
                AxisReceived.agency_id == row.agency_id,
                AxisReceived.dedupe_key == row.match_key,
                AxisReceived.id != row.id,
            )
        )
        if first is None:
            # Taken in this transaction: of two copies read at once, the second fails here
            # (unique) and is read again at the next poll, as a duplicate.
            row.dedupe_key = row.match_key or None
        else:
            row.state = ReceivedState.DUPLICATE
            row.duplicate_of_id = first.id
            await _audit(db, ctx.clock, row, "axis.duplicate")
            return
    try:
        row.checks = await _check_attachments(ctx, packet)
    except EofficeError as exc:
        _quarantine(row, exc)
        await _audit(db, ctx.clock, row, "axis.quarantined")
        return
    row.state = ReceivedState.PENDING
    await db.flush()
    await statuses.queue(
        db, clock=ctx.clock, received=row, status=statuses.Outgoing(StatusCode.RECEIVED)
    )
    await _audit(db, ctx.clock, row, "axis.received")
    await _apply_parked(db, ctx.clock, row)


def _secrecy(packet: DocumentPacket) -> str:
    """The độ mật a packet declares. edXML has no field for it [unverified]: the phạm vi lưu
    hành (SphereOfPromulgation) is where a producer would write it, so a secret level named
    there is honoured."""
    sphere = packet.other.sphere.strip().lower()
    for level in catalogue.SECRET_LEVELS:
        if sphere == level.lower():
            return level
    return ""


async def _check_attachments(ctx: ExchangeContext, packet: DocumentPacket) -> dict[str, object]:
    """Each PDF checked as an upload would be (damaged, encrypted, too many pages: an
    `EofficeError` the caller turns into quarantine) and its signatures verified."""
    files: list[dict[str, object]] = []
    limit = ctx.settings.max_upload_mb * 1024 * 1024
    for attachment in packet.attachments:
        if not attachment.data.startswith(b"%PDF"):
            files.append({"name": attachment.name, "pdf": False})
            continue
        info = await ctx.pdf_workers.inspect(
            attachment.data, name=attachment.name, max_bytes=limit, max_pages=ctx.settings.max_pages
        )
        report = await ctx.signature_checker.check(
            attachment.data, has_signatures=info.has_signatures
        )
        files.append(
            {"name": attachment.name, "pdf": True, "pages": info.page_count, "signatures": report}
        )
    if not any(f["pdf"] for f in files):
        raise AttachmentsRefusedError(
            "Gói tin không có tệp PDF nào: văn bản điện tử phải là tệp PDF đã ký số.",
            "The packet has no PDF file: an electronic document must be a signed PDF.",
        )
    return {"files": files}


class AttachmentsRefusedError(InterchangeError):
    """The attachments of a received document cannot be taken in."""


async def _recall_requested(
    db: AsyncSession, clock: Clock, row: AxisReceived, *, reason: str
) -> bool:
    """A recall of a document we received: withdrawn at once (15) if not yet registered; else
    the clerk decides. False when we do not have the document (yet)."""
    original = await db.scalar(
        select(AxisReceived)
        .where(
            AxisReceived.match_key == row.match_key,
            AxisReceived.kind == "edoc",
            AxisReceived.sender_code == row.sender_code,
            AxisReceived.state.in_(
                [ReceivedState.PENDING, ReceivedState.REGISTERED, ReceivedState.QUARANTINED]
            ),
        )
        .order_by(AxisReceived.id)
        .limit(1)
    )
    if not row.match_key or original is None:
        return False
    if original.state in (ReceivedState.PENDING, ReceivedState.QUARANTINED):
        original.state = ReceivedState.WITHDRAWN
        original.recall = RecallState.ACCEPTED
        original.reason = reason
        await statuses.queue(
            db,
            clock=clock,
            received=original,
            status=statuses.Outgoing(StatusCode.CHANGE_ACCEPTED),
            once=False,
        )
    else:
        original.recall = RecallState.REQUESTED
        original.reason = reason
    return True


async def _apply_parked(db: AsyncSession, clock: Clock, document: AxisReceived) -> None:
    """Recall requests that came before the document they name."""
    parked = await db.scalars(
        select(AxisReceived).where(
            AxisReceived.state == ReceivedState.PARKED,
            AxisReceived.match_key == document.match_key,
            AxisReceived.sender_code == document.sender_code,
        )
    )
    for row in parked:
        if row.status_code == StatusCode.RECALL_REQUESTED.value or row.business_type == 1:
            await db.flush()
            if await _recall_requested(db, clock, row, reason=row.reason):
                row.state = ReceivedState.APPLIED
