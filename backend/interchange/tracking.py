"""The sender's view: where each sent document stands with each recipient.

Per delivery: our transport state, the recipient's latest status (01…06, 02 with its reason),
its timeline, and whether it is late — "chậm tiếp nhận" when no 01/03 came within a day of
sending (peers that poll statuses once a day are thus not flagged too early, README §7.13), and
"quá hạn" when the document's deadline (17:00 of its day) passed before the recipient reported 06
(or returned it, 02). An update asked of a recipient shows on its row (requested, accepted 15,
refused 16 with the reason), with the transport of the update packet itself (`changes`). A
document whose packet went without our XML signature (no seal key: `compose`) says so.

"Văn bản đã gửi" (`sent`) filters by those states, and the leader's province-down figures
(`by_recipient`: per recipient agency, sent / on time / overdue / done / slow to receive) count
with the very same conditions in one grouped query, so a figure and the list behind it agree.
Each recipient of a document counts once: the deliveries of its packet (a new document, or a
replacement, BussinessDocType 0 or 3), not those of an update sent later (`about_id`), and a
recall is a status of the delivery, not a delivery.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from backend.core.models import Agency
from backend.documents.queries import start_of
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
    LATE_RECEIPT = "cham-nhan"  # sent more than a day ago, no status back
    NOT_HANDLED = "chua-xu-ly"  # received, not yet registered or handled
    ON_TIME = "dung-han"  # 06 by the deadline, or open and the deadline not passed
    OVERDUE = "qua-han"  # the deadline passed, neither 06 nor 02
    FAILED = "gui-loi"
    REFUSED = "tra-lai"
    DONE = "hoan-thanh"


# A deadline day's moment (deadlines.END_OF_DAY in Hà Nội, no daylight saving) after its UTC
# midnight: what `deadlines.normalize` makes of a bare date, for SQL.
_DUE_AFTER_MIDNIGHT = deadlines.due_at(date(2000, 1, 1)) - datetime(2000, 1, 1, tzinfo=UTC)


class _due_moment(FunctionElement[datetime]):
    """A deadline date's moment (UTC), in SQL, to compare stored moments with."""

    type = DateTime(timezone=True)
    inherit_cache = True


@compiles(_due_moment, "postgresql")
def _due_moment_postgresql(element: _due_moment, compiler: SQLCompiler, **kw: Any) -> str:
    minutes = int(_DUE_AFTER_MIDNIGHT.total_seconds() // 60)
    day = compiler.process(element.clauses, **kw)
    return f"(({day} + interval '{minutes} minutes') AT TIME ZONE 'UTC')"


@compiles(_due_moment, "sqlite")
def _due_moment_sqlite(element: _due_moment, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC wall time as text, with microseconds: the same shape compares in order.
    minutes = int(_DUE_AFTER_MIDNIGHT.total_seconds() // 60)
    day = compiler.process(element.clauses, **kw)
    return f"(datetime({day}, '+{minutes} minutes') || '.000000')"


@dataclass(frozen=True)
class RecipientFigures:
    """One recipient agency's line of the leader's province-down view."""

    code: str
    name: str
    subordinate: bool  # its parent is the sending agency (or the agency it issues for)
    sent: int
    on_time: int
    overdue: int
    done: int
    late_receipt: int

    @property
    def counts(self) -> tuple[int, int, int, int, int]:
        return (self.sent, self.on_time, self.overdue, self.done, self.late_receipt)


@dataclass(frozen=True)
class Track:
    delivery: AxisDelivery
    document: Document
    events: tuple[AxisStatusEvent, ...]
    late_receipt: bool
    overdue: bool
    # The deliveries of update packets to this recipient, oldest first.
    changes: tuple[AxisDelivery, ...] = ()


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
    every = list(
        await db.scalars(
            select(AxisDelivery)
            .where(AxisDelivery.document_id == document_id)
            .order_by(AxisDelivery.recipient_name, AxisDelivery.id)
        )
    )
    deliveries = [d for d in every if d.about_id is None]
    changes: dict[int, list[AxisDelivery]] = {d.id: [] for d in deliveries}
    for carrier in every:
        if carrier.about_id in changes:
            changes[carrier.about_id].append(carrier)
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
            changes=tuple(changes[d.id]),
        )
        for d in deliveries
    ]


async def unsigned(db: AsyncSession, *, document_id: int) -> bool:
    """Whether a packet of this document (its own, or an update's) went unsigned."""
    found = await db.scalar(
        select(AxisDispatch.id)
        .where(
            AxisDispatch.document_id == document_id,
            AxisDispatch.signed_by == "",
        )
        .limit(1)
    )
    return found is not None


def _passed_day(now: datetime) -> date:
    """The last day whose deadline (deadlines.END_OF_DAY of it) has passed by `now`."""
    today = deadlines.local_day(now)
    return today if deadlines.local(now).time() > deadlines.END_OF_DAY else today - timedelta(1)


def _open() -> ColumnElement[bool]:
    return and_(
        AxisDelivery.status_code.not_in([StatusCode.COMPLETED.value, StatusCode.REFUSED.value]),
        AxisDelivery.state != DeliveryState.WITHDRAWN,
        AxisDelivery.recall != RecallState.ACCEPTED,
    )


def _condition(kind: Filter, now: datetime) -> ColumnElement[bool] | None:
    passed = _passed_day(now)
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
        return and_(_open(), Document.deadline.is_not(None), Document.deadline <= passed)
    if kind is Filter.ON_TIME:
        return or_(
            and_(
                AxisDelivery.status_code == StatusCode.COMPLETED.value,
                or_(
                    Document.deadline.is_(None),
                    AxisDelivery.status_at <= _due_moment(Document.deadline),
                ),
            ),
            and_(_open(), or_(Document.deadline.is_(None), Document.deadline > passed)),
        )
    if kind is Filter.LATE_RECEIPT:
        return and_(
            AxisDelivery.state == DeliveryState.SENT,
            AxisDelivery.status_code == "",
            AxisDelivery.sent_at < now - RECEIPT_WITHIN,
        )
    return None


def _sent_by(
    agency_id: int, start: date | None, end: date | None
) -> Select[AxisDelivery, Document]:
    """The recipients' deliveries of the agency's documents (not an update's), created from
    `start` to `end` (inclusive)."""
    query = (
        select(AxisDelivery, Document)
        .join(AxisDispatch, AxisDispatch.id == AxisDelivery.dispatch_id)
        .join(Document, Document.id == AxisDelivery.document_id)
        .where(Document.agency_id == agency_id, AxisDelivery.about_id.is_(None))
    )
    if start is not None:
        query = query.where(AxisDelivery.created_at >= start_of(start))
    if end is not None:
        query = query.where(AxisDelivery.created_at < start_of(end + timedelta(days=1)))
    return query


def _count(condition: ColumnElement[bool] | None) -> Any:
    assert condition is not None
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def by_recipient(
    db: AsyncSession, *, agency_id: int, now: datetime, start: date, end: date
) -> list[RecipientFigures]:
    """Per recipient agency, what the agency sent over the axis from `start` to `end` and where
    it stands: subordinate agencies first, then the others, each by name. One grouped query
    over the deliveries, then the few recipients' names and parents."""
    counted = list(
        await db.execute(
            _sent_by(agency_id, start, end)
            .with_only_columns(
                AxisDelivery.recipient_code,
                AxisDispatch.agency_id,
                func.max(AxisDelivery.recipient_name),
                func.count(),
                _count(_condition(Filter.ON_TIME, now)),
                _count(_condition(Filter.OVERDUE, now)),
                _count(_condition(Filter.DONE, now)),
                _count(_condition(Filter.LATE_RECEIPT, now)),
            )
            .group_by(AxisDelivery.recipient_code, AxisDispatch.agency_id)
        )
    )
    known = {
        code: (name, parent_id)
        for code, name, parent_id in await db.execute(
            select(Agency.code, Agency.name, Agency.parent_id).where(
                Agency.code.in_({row[0] for row in counted})
            )
        )
    }
    # A document issued in the name of the agency's parent (the UBND, by its office) counts
    # the parent's subordinates as ours too: the senders are in the grouping.
    lines: dict[str, RecipientFigures] = {}
    for code, sender_id, name, *counts in counted:
        own_name, parent_id = known.get(code, (name or code, None))
        line = RecipientFigures(
            code, own_name, parent_id in (agency_id, sender_id), *(int(n) for n in counts)
        )
        if (seen := lines.get(code)) is not None:
            line = RecipientFigures(
                code,
                own_name,
                seen.subordinate or line.subordinate,
                *(a + b for a, b in zip(seen.counts, line.counts, strict=True)),
            )
        lines[code] = line
    return sorted(lines.values(), key=lambda r: (not r.subordinate, r.name, r.code))


async def sent(
    db: AsyncSession,
    *,
    agency_id: int,
    now: datetime,
    kind: Filter = Filter.ALL,
    recipient: str = "",
    start: date | None = None,
    end: date | None = None,
    page: int = 1,
) -> list[Track]:
    """ "Văn bản đã gửi": deliveries of our agency's documents (sent from `start` to `end`, when
    given), newest first."""
    query = _sent_by(agency_id, start, end)
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
