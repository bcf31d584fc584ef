"""Receiving from the axis: poll, keep, acknowledge, then read.

The poll job (`interchange.poll`, every `axis_poll_seconds`) lists what waits for this system,
documents and statuses, and for each packet:

1. fetches it and stores the raw bytes (blob store) with its axis DocId — unique, so a packet
   listed twice, or fetched again after a crash before the acknowledgement, is stored once —
   a few packets at a time, recorded in one transaction per `CHUNK`;
2. commits, and only then tells the axis `done` (never before: a crash in between re-fetches);
3. reads it (`prepare`: parsing and a glance at its PDFs — encrypted, empty, too many pages —
   outside any transaction, several packets side by side) and then applies it (`apply`, each
   in a savepoint of one transaction per chunk, in the order the axis listed them, so a recall
   comes after its document): a status is applied to our sent
   document; a document waits for the clerk in "Văn bản đến qua trục" with status 01 sent back;
   a packet we refuse to handle (unreadable, hostile, oversized, classified) is quarantined
   with the reason, for the clerk to return with 02 — nothing of it is registered. A packet
   whose read fails unexpectedly stays `stored` and is read again by the next poll, so a parser
   bug never loses it;
4. checks a waiting document's PDFs deeply (every stream decoded within the intake limits),
   verifies their signatures and reports the packet's own XML signature (`xmlsig`) in a job of
   its own (`check_job`), so that taking packets in is not held up by the slowest part; what
   fails the check goes to quarantine.

A document delivered twice (same DocumentId, new axis DocId) is kept as a duplicate of the
first and not offered for registration again. A recall (BussinessDocType 1, like status 13)
withdraws a document not yet registered, else waits for the clerk; an update (2) takes the
place of its original not yet registered, else waits for the clerk (`updates`); a replacement
(3) is taken in as a new document and marks the one it replaces (`replacements`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, jobs
from backend.core.clock import Clock
from backend.core.errors import EofficeError
from backend.core.jobs import ClaimedJob
from backend.core.models import Agency
from backend.documents import catalogue, pdfcheck
from backend.interchange import (
    connection,
    edxml,
    reception,
    replacements,
    statuses,
    updates,
    xmlsig,
)
from backend.interchange.context import ExchangeContext
from backend.interchange.errors import InterchangeError
from backend.interchange.packet import BusinessDocType, DocumentPacket
from backend.interchange.status import StatusCode, StatusPacket
from backend.interchange.tables import AxisReceived, RecallState, ReceivedState
from backend.interchange.vxp import Received, VxpClient

log = logging.getLogger(__name__)

POLL_JOB = "interchange.poll"
CHECK_JOB = "interchange.check_packet"
MESSAGE_TYPES: tuple[Literal["edoc", "status"], ...] = ("edoc", "status")
# Read again at each poll: stored packets whose read did not finish.
REREAD_BATCH = 50
# Packets taken in per transaction (their bytes are in the blob store by then).
CHUNK = 50
# What the deep check of the PDFs looks at: documents waiting for the clerk.
CHECKED_STATES = (ReceivedState.PENDING, ReceivedState.UPDATE)


async def poll_job(ctx: ExchangeContext, job: ClaimedJob) -> None:
    if not connection.configured(ctx.settings):
        return
    async with connection.client(ctx.settings) as axis:
        for message_type in MESSAGE_TYPES:
            listed = await axis.received(message_type=message_type)
            # While a chunk's effects are applied, the next chunk is fetched (network and
            # blob store only: SQLite has one writer, so no two of our transactions write at
            # once); the order stays the axis'.
            applying: asyncio.Task[None] | None = None
            acknowledging: list[asyncio.Task[None]] = []
            try:
                for start in range(0, len(listed), CHUNK):
                    chunk = listed[start : start + CHUNK]
                    fetched = await fetch(ctx, axis, chunk)
                    if applying is not None:
                        await applying
                    stored = await record(ctx, fetched)
                    # Only now, with the bytes and the rows committed, is the axis told.
                    acknowledging.append(asyncio.create_task(acknowledge(ctx, axis, chunk)))
                    ready = await prepare_all(ctx, stored)
                    applying = asyncio.create_task(apply_all(ctx, ready))
            finally:
                # Whatever went wrong, what was started finishes (or fails) before the job
                # ends; the first failure is the job's.
                started = [*acknowledging, *([applying] if applying is not None else [])]
                for outcome in await asyncio.gather(*started, return_exceptions=True):
                    if isinstance(outcome, BaseException):
                        raise outcome
    async with ctx.sessions() as db:
        leftovers = list(
            await db.scalars(
                select(AxisReceived.id)
                .where(AxisReceived.state == ReceivedState.STORED)
                .order_by(AxisReceived.id)
                .limit(REREAD_BATCH)
            )
        )
    await read_all(ctx, leftovers)
    async with ctx.sessions() as db, db.begin():
        await reception.catch_up(db, clock=ctx.clock)


@dataclass(frozen=True)
class Fetched:
    item: Received
    sha256: str | None  # None: recorded before (a crash, a lost acknowledgement): not fetched
    size: int = 0


async def fetch(ctx: ExchangeContext, axis: VxpClient, items: Sequence[Received]) -> list[Fetched]:
    """Fetch listed packets we have not recorded yet, a few at a time, into the blob store."""
    async with ctx.sessions() as db:
        known = set(
            await db.scalars(
                select(AxisReceived.axis_doc_id).where(
                    AxisReceived.axis_doc_id.in_([item.doc_id for item in items])
                )
            )
        )
    gate = asyncio.Semaphore(ctx.settings.axis_receive_concurrency)

    async def one(item: Received) -> Fetched:
        if item.doc_id in known:
            return Fetched(item, None)
        async with gate:
            data = await axis.get_edoc(item.doc_id)
            return Fetched(item, await ctx.blobs.put(data), len(data))

    return list(await asyncio.gather(*(one(item) for item in items)))


async def record(ctx: ExchangeContext, fetched: Sequence[Fetched]) -> list[int]:
    """Record fetched packets in one transaction; the ids of the rows new to us, in order."""
    fresh = [f for f in fetched if f.sha256 is not None]
    if not fresh:
        return []
    now = ctx.clock.now()
    async with ctx.sessions() as db, db.begin():
        codes = {f.item.to_code.upper() for f in fresh}
        found = await db.execute(select(Agency.code, Agency.id).where(Agency.code.in_(codes)))
        ours = {code: agency_id for code, agency_id in found}
        rows = [
            {
                "agency_id": ours.get(f.item.to_code.upper()),
                "axis_doc_id": f.item.doc_id,
                "message_type": f.item.message_type,
                "packet_sha256": f.sha256,
                "packet_size": f.size,
                "fetched_at": now,
                "state": ReceivedState.STORED.value,
            }
            for f in fresh
        ]
        insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(AxisReceived)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[AxisReceived.axis_doc_id])
            .returning(AxisReceived.axis_doc_id, AxisReceived.id)
        )
        # Another runner's rows are left out.
        new = {doc_id: row_id for doc_id, row_id in await db.execute(statement)}
    return [new[f.item.doc_id] for f in fresh if f.item.doc_id in new]


async def acknowledge(ctx: ExchangeContext, axis: VxpClient, items: Sequence[Received]) -> None:
    """Tell the axis these packets are ours now (`done`): they leave its list."""
    gate = asyncio.Semaphore(ctx.settings.axis_receive_concurrency)

    async def one(doc_id: str) -> None:
        async with gate:
            await axis.update_status(doc_id, "done")

    await asyncio.gather(*(one(item.doc_id) for item in items))


async def read_all(ctx: ExchangeContext, received_ids: list[int]) -> None:
    """Read stored packets: `prepare_all`, then `apply_all`."""
    await apply_all(ctx, await prepare_all(ctx, received_ids))


async def prepare_all(ctx: ExchangeContext, received_ids: list[int]) -> list[Prepared]:
    """The slow part of reading each packet (parsing, a glance at the PDFs), side by side."""
    gate = asyncio.Semaphore(ctx.settings.axis_receive_concurrency)

    async def prepared(received_id: int) -> Prepared | None:
        async with gate:
            try:
                return await prepare(ctx, received_id)
            except Exception:
                log.exception("interchange: reading received packet %s failed", received_id)
                return None

    return [r for r in await asyncio.gather(*(prepared(r) for r in received_ids)) if r]


async def apply_all(ctx: ExchangeContext, ready: list[Prepared]) -> None:
    """What read packets do, in the order the axis listed them (a recall after its document),
    each in a savepoint of one transaction: one that fails to apply is left `stored` for the
    next poll without holding up the others."""
    if not ready:
        return
    async with ctx.sessions() as db, db.begin():
        for one in ready:
            try:
                async with db.begin_nested():
                    await apply(db, ctx, one)
            except Exception:
                log.exception("interchange: applying received packet %s failed", one.received_id)


@dataclass(frozen=True)
class Prepared:
    """A stored packet, read: what it is (or why it cannot be taken in), and what its PDFs
    showed."""

    received_id: int
    packet: DocumentPacket | StatusPacket | None
    problem: EofficeError | None = None
    checks: dict[str, object] = field(default_factory=dict)


def _read_packet(data: bytes, *, max_bytes: int, max_pages: int) -> Prepared:
    """Parse a packet and glance at its PDFs (a thread's work: no I/O, no database)."""
    try:
        packet = edxml.parse_any(data, max_bytes=max_bytes)
    except InterchangeError as exc:
        return Prepared(0, None, exc)
    if isinstance(packet, StatusPacket) or packet.business.doc_type is BusinessDocType.RECALL:
        return Prepared(0, packet)
    files: list[dict[str, object]] = []
    try:
        for attachment in packet.attachments:
            if not attachment.data.startswith(b"%PDF"):
                files.append({"name": attachment.name, "pdf": False})
                continue
            seen = pdfcheck.glance_pdf(
                attachment.data, name=attachment.name, max_bytes=max_bytes, max_pages=max_pages
            )
            files.append(
                {
                    "name": attachment.name,
                    "pdf": True,
                    "pages": seen.page_count,
                    "signed": seen.has_signatures,
                }
            )
        if not any(f["pdf"] for f in files):
            raise AttachmentsRefusedError(
                "Gói tin không có tệp PDF nào: văn bản điện tử phải là tệp PDF đã ký số.",
                "The packet has no PDF file: an electronic document must be a signed PDF.",
            )
    except EofficeError as exc:
        return Prepared(0, _without_files(packet), exc)
    return Prepared(0, _without_files(packet), checks={"files": files, "verified": False})


def _without_files(packet: DocumentPacket) -> DocumentPacket:
    """The packet without its files' bytes: what applying it needs (the bytes stay in the blob
    store), and little to carry back from a worker process."""
    return replace(packet, attachments=tuple(replace(a, data=b"") for a in packet.attachments))


async def prepare(ctx: ExchangeContext, received_id: int) -> Prepared | None:
    """Parse a stored packet and glance at its PDFs, outside any transaction; the deep check
    of the PDFs and of their signatures is a job of its own (`check_job`)."""
    async with ctx.sessions() as db:
        row = await db.get_one(AxisReceived, received_id)
        if row.state != ReceivedState.STORED:
            return None
        sha256 = row.packet_sha256
    data = await ctx.blobs.get(sha256)
    # In the PDF worker processes: parsing and the glance are pure CPU, and the event loop's
    # process has the database and the network to attend to.
    work = functools.partial(
        _read_packet,
        data,
        max_bytes=ctx.settings.axis_max_packet_mb * 1024 * 1024,
        max_pages=ctx.settings.max_pages,
    )
    ready = await asyncio.get_running_loop().run_in_executor(ctx.pdf_workers.executor, work)
    return replace(ready, received_id=received_id)


async def apply(db: AsyncSession, ctx: ExchangeContext, ready: Prepared) -> None:
    """What a read packet does, in the caller's transaction."""
    row = await db.get_one(AxisReceived, ready.received_id, with_for_update=True)
    if row.state != ReceivedState.STORED:
        return
    packet = ready.packet
    if packet is None:
        assert ready.problem is not None
        _quarantine(row, ready.problem)
        await _audit(db, ctx.clock, row, "axis.quarantined")
    elif isinstance(packet, StatusPacket):
        await _read_status(db, ctx.clock, row, packet)
    else:
        await _read_document(db, ctx, row, packet, ready)


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
    db: AsyncSession,
    ctx: ExchangeContext,
    row: AxisReceived,
    packet: DocumentPacket,
    ready: Prepared,
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
    kind = packet.business.doc_type
    original = await updates.original_of(db, row) if kind is BusinessDocType.UPDATE else None
    if original is None:
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
        elif kind is not BusinessDocType.UPDATE:
            row.state = ReceivedState.DUPLICATE
            row.duplicate_of_id = first.id
            await _audit(db, ctx.clock, row, "axis.duplicate")
            return
        # An update of nothing its sender sent us that is still here (returned, withdrawn, or
        # never received) is taken in as a new document; the key stays with the first.
    if original is not None:
        row.original_id = original.id
        row.reason = packet.business.reason
    if ready.problem is not None and original is not None:
        await updates.decline_unreadable(db, clock=ctx.clock, row=row, problem=ready.problem)
        await _audit(db, ctx.clock, row, "axis.update_declined")
        return
    if ready.problem is not None:
        _quarantine(row, ready.problem)
        await _audit(db, ctx.clock, row, "axis.quarantined")
        return
    row.checks = ready.checks
    waits = False
    if original is not None:
        waits = await updates.take(db, clock=ctx.clock, row=row, original=original)
    row.state = ReceivedState.UPDATE if waits else ReceivedState.PENDING
    await jobs.enqueue(
        db,
        clock=ctx.clock,
        kind=CHECK_JOB,
        payload={"received": row.id},
        idempotency_key=f"{CHECK_JOB}:{row.id}",
        max_attempts=3,
    )
    if original is None:
        # Just taken in: no status can have been sent about it yet.
        await statuses.queue(
            db,
            clock=ctx.clock,
            received=row,
            status=statuses.Outgoing(StatusCode.RECEIVED),
            once=False,
        )
        if kind is BusinessDocType.REPLACE:
            await replacements.mark_replaced(db, row=row, packet=packet, our_code=ours.code)
    await _audit(db, ctx.clock, row, "axis.update_read" if original else "axis.received")
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


async def check_job(ctx: ExchangeContext, job: ClaimedJob) -> None:
    """The deep check of a waiting document's PDFs — every stream decoded within the intake
    limits, as an upload is checked — and of their signatures. A PDF that fails it puts the
    packet in quarantine, with the reason, if the clerk has not acted yet."""
    received_id = int(job.payload["received"])
    async with ctx.sessions() as db:
        row = await db.get_one(AxisReceived, received_id)
        if row.state not in CHECKED_STATES:
            return
        sha256 = row.packet_sha256
    limit = ctx.settings.axis_max_packet_mb * 1024 * 1024
    data = await ctx.blobs.get(sha256)
    packet = await asyncio.to_thread(edxml.parse_any, data, max_bytes=limit)
    assert isinstance(packet, DocumentPacket)
    files: list[dict[str, object]] = []
    problem: EofficeError | None = None
    for attachment in packet.attachments:
        if not attachment.data.startswith(b"%PDF"):
            files.append({"name": attachment.name, "pdf": False})
            continue
        try:
            info = await ctx.pdf_workers.inspect(
                attachment.data,
                name=attachment.name,
                max_bytes=ctx.settings.max_upload_mb * 1024 * 1024,
                max_pages=ctx.settings.max_pages,
            )
        except EofficeError as exc:
            problem = exc
            break
        report = await ctx.signature_checker.check(
            attachment.data, has_signatures=info.has_signatures
        )
        files.append(
            {"name": attachment.name, "pdf": True, "pages": info.page_count, "signatures": report}
        )
    # The packet's own XML signature, if any: reported, never blocking (README §2.6: the PDFs'
    # signatures are the binding ones; most producers write a placeholder).
    seal = await asyncio.to_thread(xmlsig.verify_packet, data, max_bytes=limit)
    packet_signature = {
        "state": seal.state.value,
        "subject": seal.subject,
        "reason_vi": seal.reason_vi,
        "reason_en": seal.reason_en,
    }
    async with ctx.sessions() as db, db.begin():
        row = await db.get_one(AxisReceived, received_id, with_for_update=True)
        if row.state not in CHECKED_STATES:
            return
        if problem is not None and row.state == ReceivedState.UPDATE:
            await updates.decline_unreadable(db, clock=ctx.clock, row=row, problem=problem)
            await _audit(db, ctx.clock, row, "axis.update_declined")
        elif problem is not None:
            _quarantine(row, problem)
            await _audit(db, ctx.clock, row, "axis.quarantined")
        else:
            row.checks = {"files": files, "verified": True, "packet_signature": packet_signature}


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
