"""Sending a document over the axis: one packet built once, delivered to each recipient.

`dispatch` runs in the clerk's transaction (the one that issues the document, or a later
"Gửi"): it stores the packet, makes a delivery per recipient and queues one send job. The job
sends to every delivery still to go, a few at a time, each in its own short transaction:

- `queued` → `sending` (committed before the call), then `sent` with the axis DocId, or
  `failed` when the axis refuses it (a wrong code is not fixed by retrying), or back to
  `queued` when the axis was unreachable (the job is retried with backoff).
- A delivery found `sending` was being sent when its process died or the call timed out after
  the axis may have stored it. The axis has no idempotency key, so before sending again the job
  asks the axis what we sent (`getSentEdocList`) and takes the DocId from there if it went out:
  a send retried after a crash is delivered once.
- When the job's attempts are used up, what is still not sent becomes `failed` ("Gửi lỗi") with
  the last error, for the clerk's "Gửi lại" (`retry`).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, jobs
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.errors import NotFoundError, ValidationError
from backend.core.jobs import ClaimedJob
from backend.core.models import Agency
from backend.interchange import connection, statuses
from backend.interchange.context import ExchangeContext
from backend.interchange.errors import (
    AxisOutcomeUnknownError,
    AxisRefusedError,
    InterchangeError,
)
from backend.interchange.tables import (
    AxisDelivery,
    AxisDispatch,
    AxisStatusEvent,
    DeliveryState,
    RecallState,
)
from backend.interchange.vxp import Sent, VxpClient

SEND_JOB = "interchange.send"
SEND_ATTEMPTS = 5
# How far back `getSentEdocList` is asked when a send's outcome is unknown.
LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class Recipient:
    code: str
    name: str


class _Outcome(enum.Enum):
    SENT = "sent"
    REFUSED = "refused"
    RETRY = "retry"
    SKIPPED = "skipped"


async def dispatch(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    document_id: int,
    sender: Agency,
    document_key: str,
    notation: str,
    packet: bytes,
    recipients: Sequence[Recipient],
    actor_id: int | None,
    business_type: int = 0,
    reason: str = "",
    about: Mapping[str, int] | None = None,
    replaces_document_id: int | None = None,
) -> AxisDispatch:
    """Store the packet and queue its delivery to each recipient, in the caller's transaction.
    An update packet names, per recipient code, the delivery it is `about`."""
    codes = [r.code.strip().upper() for r in recipients]
    if not codes:
        raise ValidationError(
            "Chưa chọn cơ quan nhận văn bản qua trục liên thông.",
            "No recipient agency was chosen for the axis.",
        )
    if len(set(codes)) != len(codes):
        raise ValidationError(
            "Một cơ quan nhận được chọn hai lần.", "A recipient agency was chosen twice."
        )
    if sender.code in codes:
        raise ValidationError(
            "Không gửi văn bản qua trục cho chính cơ quan phát hành.",
            "A document is not sent over the axis to the agency issuing it.",
        )
    now = clock.now()
    record = AxisDispatch(
        document_id=document_id,
        agency_id=sender.id,
        business_type=business_type,
        document_key=document_key,
        notation=notation,
        packet_sha256=await blobs.put(packet),
        packet_size=len(packet),
        reason=reason,
        created_by_id=actor_id,
        created_at=now,
        replaces_document_id=replaces_document_id,
    )
    db.add(record)
    await db.flush()
    for code, recipient in zip(codes, recipients, strict=True):
        db.add(
            AxisDelivery(
                dispatch_id=record.id,
                document_id=document_id,
                recipient_code=code,
                recipient_name=recipient.name,
                state=DeliveryState.QUEUED,
                about_id=(about or {}).get(code),
                created_at=now,
                updated_at=now,
            )
        )
    await _queue_send(db, clock=clock, dispatch_id=record.id, round_=0)
    await audit.record(
        db,
        clock=clock,
        action="axis.dispatched",
        actor_id=actor_id,
        object_type="document",
        object_id=document_id,
        detail={"dispatch": record.id, "type": business_type, "recipients": codes},
    )
    return record


async def _queue_send(db: AsyncSession, *, clock: Clock, dispatch_id: int, round_: int) -> None:
    await jobs.enqueue(
        db,
        clock=clock,
        kind=SEND_JOB,
        payload={"dispatch": dispatch_id},
        idempotency_key=f"{SEND_JOB}:{dispatch_id}:{round_}",
        max_attempts=SEND_ATTEMPTS,
    )


async def retry(
    db: AsyncSession, *, clock: Clock, document_id: int, delivery_ids: Sequence[int], actor_id: int
) -> int:
    """The clerk's "Gửi lại": failed deliveries of this document (and failed update packets to
    those recipients) go back to the queue."""
    failed = list(
        await db.scalars(
            select(AxisDelivery).where(
                AxisDelivery.document_id == document_id,
                or_(AxisDelivery.id.in_(delivery_ids), AxisDelivery.about_id.in_(delivery_ids)),
                AxisDelivery.state == DeliveryState.FAILED,
            )
        )
    )
    if not failed:
        raise NotFoundError(
            "Không có lần gửi lỗi nào để gửi lại.", "There is no failed delivery to send again."
        )
    now = clock.now()
    for delivery in failed:
        delivery.state = DeliveryState.QUEUED
        delivery.updated_at = now
    for dispatch_id in sorted({d.dispatch_id for d in failed}):
        record = await db.get_one(AxisDispatch, dispatch_id, with_for_update=True)
        record.send_rounds += 1
        await _queue_send(db, clock=clock, dispatch_id=dispatch_id, round_=record.send_rounds)
    await audit.record(
        db,
        clock=clock,
        action="axis.resend",
        actor_id=actor_id,
        object_type="document",
        object_id=document_id,
        detail={"recipients": [d.recipient_code for d in failed]},
    )
    return len(failed)


async def send_job(ctx: ExchangeContext, job: ClaimedJob) -> None:
    dispatch_id = int(job.payload["dispatch"])
    async with ctx.sessions() as db:
        record = await db.get_one(AxisDispatch, dispatch_id)
        sender = await db.get_one(Agency, record.agency_id)
        pending = list(
            await db.scalars(
                select(AxisDelivery)
                .where(
                    AxisDelivery.dispatch_id == dispatch_id,
                    AxisDelivery.state.in_([DeliveryState.QUEUED, DeliveryState.SENDING]),
                )
                .order_by(AxisDelivery.id)
            )
        )
    if not pending:
        return
    packet = await ctx.blobs.get(record.packet_sha256)
    async with connection.client(ctx.settings) as axis:
        unsure = [d for d in pending if d.state == DeliveryState.SENDING]
        if unsure:
            await _settle_unknown(ctx, axis, record=record, sender=sender, deliveries=unsure)
        gate = asyncio.Semaphore(ctx.settings.axis_send_concurrency)

        async def one(delivery: AxisDelivery) -> tuple[_Outcome, str]:
            async with gate:
                return await _send_one(ctx, axis, sender=sender, packet=packet, delivery=delivery)

        async with ctx.sessions() as db:
            queued = list(
                await db.scalars(
                    select(AxisDelivery)
                    .where(
                        AxisDelivery.dispatch_id == dispatch_id,
                        AxisDelivery.state == DeliveryState.QUEUED,
                    )
                    .order_by(AxisDelivery.id)
                )
            )
        outcomes = await asyncio.gather(*(one(d) for d in queued))
    errors = [error for outcome, error in outcomes if outcome is _Outcome.RETRY]
    if not errors:
        return
    if job.attempt >= job.max_attempts:
        await _give_up(ctx, dispatch_id=dispatch_id, error=errors[-1])
        return
    raise _Unfinished(len(errors), errors[-1])


class _Unfinished(InterchangeError):
    retryable = True

    def __init__(self, count: int, last: str) -> None:
        super().__init__(
            f"Còn {count} nơi nhận chưa gửi được qua trục ({last}); sẽ tự gửi lại.",
            f"{count} recipients could not be sent to yet ({last}); will retry.",
        )


async def _send_one(
    ctx: ExchangeContext,
    axis: VxpClient,
    *,
    sender: Agency,
    packet: bytes,
    delivery: AxisDelivery,
) -> tuple[_Outcome, str]:
    async with ctx.sessions() as db, db.begin():
        row = await db.get_one(AxisDelivery, delivery.id, with_for_update=True)
        if row.state != DeliveryState.QUEUED:  # withdrawn by a recall meanwhile
            return _Outcome.SKIPPED, ""
        row.state = DeliveryState.SENDING
        row.attempts += 1
        row.updated_at = ctx.clock.now()
    try:
        doc_id = await axis.send_edoc(
            from_code=sender.code, message_type="edoc", data=packet, to=[delivery.recipient_code]
        )
    except AxisRefusedError as exc:
        await _finish(ctx, delivery.id, state=DeliveryState.FAILED, error=exc.message_vi)
        return _Outcome.REFUSED, exc.message_vi
    except AxisOutcomeUnknownError as exc:
        # Left `sending`: the next attempt asks the axis whether it went out.
        await _finish(ctx, delivery.id, state=DeliveryState.SENDING, error=exc.message_vi)
        return _Outcome.RETRY, exc.message_vi
    except InterchangeError as exc:
        await _finish(ctx, delivery.id, state=DeliveryState.QUEUED, error=exc.message_vi)
        return _Outcome.RETRY, exc.message_vi
    await _finish(ctx, delivery.id, state=DeliveryState.SENT, doc_id=doc_id)
    return _Outcome.SENT, ""


async def _finish(
    ctx: ExchangeContext,
    delivery_id: int,
    *,
    state: DeliveryState,
    error: str = "",
    doc_id: str = "",
) -> None:
    async with ctx.sessions() as db, db.begin():
        row = await db.get_one(AxisDelivery, delivery_id, with_for_update=True)
        now = ctx.clock.now()
        row.state = state
        row.updated_at = now
        if error:
            row.last_error = error
        if doc_id:
            row.axis_doc_id = doc_id
            row.sent_at = now
            row.last_error = ""


async def _settle_unknown(
    ctx: ExchangeContext,
    axis: VxpClient,
    *,
    record: AxisDispatch,
    sender: Agency,
    deliveries: list[AxisDelivery],
) -> None:
    """Deliveries whose send may have reached the axis: sent if the axis lists them, else
    queued again. An axis that cannot be asked leaves them as they are (the job retries)."""
    now = ctx.clock.now()
    listed = await axis.sent(message_type="edoc", since=record.created_at - LOOKBACK, until=now)
    # The same số/ký hiệu also went out as the document itself, its updates and recall packets:
    # what is already known to be one of those is not this send.
    async with ctx.sessions() as db:
        ours = select(AxisDelivery.id).where(AxisDelivery.document_id == record.document_id)
        known = set(
            await db.scalars(
                select(AxisDelivery.axis_doc_id).where(
                    AxisDelivery.document_id == record.document_id, AxisDelivery.axis_doc_id != ""
                )
            )
        ) | set(
            await db.scalars(
                select(AxisStatusEvent.axis_doc_id).where(
                    AxisStatusEvent.delivery_id.in_(ours),
                    AxisStatusEvent.message_type == "edoc",
                    AxisStatusEvent.axis_doc_id != "",
                )
            )
        )
    listed = [item for item in listed if item.sender_doc_id not in known]
    for delivery in deliveries:
        found = _find_sent(listed, record=record, sender=sender, delivery=delivery)
        if found is not None:
            await _finish(ctx, delivery.id, state=DeliveryState.SENT, doc_id=found.sender_doc_id)
        else:
            await _finish(ctx, delivery.id, state=DeliveryState.QUEUED)


def _find_sent(
    listed: Sequence[Sent], *, record: AxisDispatch, sender: Agency, delivery: AxisDelivery
) -> Sent | None:
    for item in listed:
        if (
            item.from_code.upper() == sender.code
            and item.to_code.upper() == delivery.recipient_code
            and item.notation == record.notation
            and (
                item.sent_time is None or item.sent_time >= record.created_at - timedelta(minutes=5)
            )
        ):
            return item
    return None


async def _give_up(ctx: ExchangeContext, *, dispatch_id: int, error: str) -> None:
    async with ctx.sessions() as db, db.begin():
        rows = await db.scalars(
            select(AxisDelivery).where(
                AxisDelivery.dispatch_id == dispatch_id,
                AxisDelivery.state.in_([DeliveryState.QUEUED, DeliveryState.SENDING]),
            )
        )
        now = ctx.clock.now()
        for row in rows:
            row.state = DeliveryState.FAILED
            row.last_error = row.last_error or error
            row.updated_at = now


async def recall(
    db: AsyncSession,
    *,
    clock: Clock,
    document_id: int,
    delivery_ids: Sequence[int],
    reason: str,
    clerk_id: int,
    clerk_name: str,
    by_packet: bool = False,
) -> tuple[int, int]:
    """The sender's "Thu hồi": a delivery still in our outbox is withdrawn at once, nothing
    goes out; one the axis has is asked back with the reason — status 13, or `by_packet` a
    BussinessDocType-1 packet (`axis_recall_mechanism`), recorded alike — and the recipient
    answers 15 or 16. Returns (withdrawn, asked)."""
    text = " ".join(reason.split())
    if len(text) < 5:
        raise ValidationError(
            "Hãy ghi lý do thu hồi (ít nhất 5 ký tự).",
            "Give the reason for the recall (at least 5 characters).",
        )
    rows = list(
        await db.scalars(
            select(AxisDelivery)
            .where(
                AxisDelivery.document_id == document_id,
                AxisDelivery.id.in_(delivery_ids),
                AxisDelivery.about_id.is_(None),
            )
            .with_for_update()
        )
    )
    now = clock.now()
    withdrawn = asked = 0
    for delivery in rows:
        if delivery.state in (DeliveryState.QUEUED, DeliveryState.FAILED):
            delivery.state = DeliveryState.WITHDRAWN
            withdrawn += 1
        elif delivery.state in (DeliveryState.SENT, DeliveryState.SENDING) and delivery.recall in (
            RecallState.NONE,
            RecallState.REFUSED,
        ):
            delivery.recall = RecallState.REQUESTED
            await statuses.queue_recall(
                db,
                clock=clock,
                delivery=delivery,
                reason=text,
                staff=clerk_name,
                message_type="edoc" if by_packet else "status",
            )
            asked += 1
        else:
            continue
        delivery.status_note = text
        delivery.updated_at = now
    if not (withdrawn or asked):
        raise ValidationError(
            "Không có nơi nhận nào thu hồi được trong các nơi đã chọn.",
            "None of the chosen recipients can be recalled.",
        )
    await audit.record(
        db,
        clock=clock,
        action="axis.recall",
        actor_id=clerk_id,
        object_type="document",
        object_id=document_id,
        detail={
            "reason": text,
            "withdrawn": withdrawn,
            "asked": asked,
            "by": "packet" if by_packet else "status",
        },
    )
    return withdrawn, asked
