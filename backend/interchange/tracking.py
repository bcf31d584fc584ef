"""The sender's view: where each sent document stands with each recipient.

Per delivery: our transport state, the recipient's latest status (01…06, 02 with its reason),
its timeline, and whether it is late — "chậm tiếp nhận" when no 01/03 came within a day of
sending (peers that poll statuses once a day are thus not flagged too early, README §7.13), and
"quá hạn" when the document's deadline passed before the recipient reported 06. A document
whose packet went without our XML signature (no seal key: `compose`) says so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from backend.documents.tables import Document
from backend.interchange.status import StatusCode
from backend.interchange.tables import (
    AxisDelivery,
    AxisDispatch,
    AxisStatusEvent,
    DeliveryState,
    RecallState,
)
from backend.workflow import deadlines

RECEIPT_WITHIN = timedelta(hours=24)
PAGE = 50


class Filter(enum.StrEnum):
    ALL = ""
    NOT_RECEIVED = "chua-nhan"  # no 01 yet (or not even sent)
    NOT_HANDLED = "chua-xu-ly"  # received, not yet registered or handled
    OVERDUE = "qua-han"
    FAILED = "gui-loi"
    REFUSED = "tra-lai"
    DONE = "hoan-thanh"


@dataclass(frozen=True)
class Track:
    delivery: AxisDelivery
    document: Document
    events: tuple[AxisStatusEvent, ...]
    late_receipt: bool
    overdue: bool


def _late_receipt(delivery: AxisDelivery, now: datetime) -> bool:
    return (
        delivery.state == DeliveryState.SENT
        and not delivery.status_code
        and delivery.sent_at is not None
        and now - delivery.sent_at > RECEIPT_WITHIN
    )


def _overdue(delivery: AxisDelivery, document: Document, now: datetime) -> bool:
    due = deadlines.normalize(document.deadline)
    return (
        due is not None
        and now > due
        and delivery.status_code not in (StatusCode.COMPLETED.value, StatusCode.REFUSED.value)
        and delivery.state != DeliveryState.WITHDRAWN
        and delivery.recall != RecallState.ACCEPTED
    )


async def of_document(db: AsyncSession, *, document_id: int, now: datetime) -> list[Track]:
    document = await db.get_one(Document, document_id)
    deliveries = list(
        await db.scalars(
            select(AxisDelivery)
            .where(AxisDelivery.document_id == document_id)
            .order_by(AxisDelivery.recipient_name, AxisDelivery.id)
        )
    )
    events: dict[int, list[AxisStatusEvent]] = {d.id: [] for d in deliveries}
    if deliveries:
        for event in await db.scalars(
            select(AxisStatusEvent)
            .where(AxisStatusEvent.delivery_id.in_(list(events)))
            .order_by(AxisStatusEvent.occurred_at, AxisStatusEvent.id)
        ):
            events[event.delivery_id or 0].append(event)
    return [
        Track(
            delivery=d,
            document=document,
            events=tuple(events[d.id]),
            late_receipt=_late_receipt(d, now),
            overdue=_overdue(d, document, now),
        )
        for d in deliveries
    ]


async def unsigned(db: AsyncSession, *, document_id: int) -> bool:
    """Whether a packet of this document (a new document's, not a recall) went unsigned."""
    found = await db.scalar(
        select(AxisDispatch.id)
        .where(
            AxisDispatch.document_id == document_id,
            AxisDispatch.business_type == 0,
            AxisDispatch.signed_by == "",
        )
        .limit(1)
    )
    return found is not None


def _condition(kind: Filter, now: datetime) -> ColumnElement[bool] | None:
    if kind is Filter.NOT_RECEIVED:
        return and_(
            AxisDelivery.status_code == "",
            AxisDelivery.state != DeliveryState.WITHDRAWN,
        )
    if kind is Filter.NOT_HANDLED:
        return AxisDelivery.status_code == StatusCode.RECEIVED.value
    if kind is Filter.FAILED:
        return AxisDelivery.state == DeliveryState.FAILED
    if kind is Filter.REFUSED:
        return AxisDelivery.status_code == StatusCode.REFUSED.value
    if kind is Filter.DONE:
        return AxisDelivery.status_code == StatusCode.COMPLETED.value
    if kind is Filter.OVERDUE:
        return or_(
            and_(
                Document.deadline.is_not(None),
                Document.deadline < deadlines.local_day(now),
                AxisDelivery.status_code.not_in(
                    [StatusCode.COMPLETED.value, StatusCode.REFUSED.value]
                ),
            ),
            and_(
                AxisDelivery.state == DeliveryState.SENT,
                AxisDelivery.status_code == "",
                AxisDelivery.sent_at < now - RECEIPT_WITHIN,
            ),
        )
    return None


async def sent(
    db: AsyncSession,
    *,
    agency_id: int,
    now: datetime,
    kind: Filter = Filter.ALL,
    recipient: str = "",
    page: int = 1,
) -> list[Track]:
    """ "Văn bản đã gửi": deliveries of our agencies' documents, newest first."""
    query = (
        select(AxisDelivery, Document)
        .join(AxisDispatch, AxisDispatch.id == AxisDelivery.dispatch_id)
        .join(Document, Document.id == AxisDelivery.document_id)
        .where(Document.agency_id == agency_id)
    )
    condition = _condition(kind, now)
    if condition is not None:
        query = query.where(condition)
    if recipient:
        query = query.where(AxisDelivery.recipient_code == recipient.strip().upper())
    query = query.order_by(AxisDelivery.created_at.desc(), AxisDelivery.id.desc())
    query = query.limit(PAGE).offset((max(page, 1) - 1) * PAGE)
    return [
        Track(
            delivery=d,
            document=doc,
            events=(),
            late_receipt=_late_receipt(d, now),
            overdue=_overdue(d, doc, now),
        )
        for d, doc in await db.execute(query)
    ]
