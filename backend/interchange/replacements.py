"""Replacement (BussinessDocType 3, README §5.5): a new document, with its own number, that
replaces an earlier one (Decree 30 Art. 18.3: content errors are corrected by a replacing
document).

Sending: the clerk names, when issuing, an earlier document of the same agency that went out
over the axis (`replaceable` lists them, `replacing` checks the choice); the packet says which
DocumentId it replaces and for which of its recipients. Receiving: the new document is taken in
like any other (01, then the clerk registers it: 03 …) and the earlier one from the same sender
is marked "đã bị thay thế" (`replaced_by_id`) — kept as it was, never deleted. No source asks
for a 15/16 about the replaced one [unverified], so none is sent. `links` gives both documents'
pages the link to the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import ValidationError
from backend.documents import catalogue
from backend.documents.tables import Document
from backend.interchange import statuses
from backend.interchange.packet import Business, BusinessDocType, DocumentPacket, Replacement
from backend.interchange.tables import (
    AxisDelivery,
    AxisDispatch,
    AxisReceived,
    DeliveryState,
    ReceivedState,
)

# Dispatches that carry a document (not an update of one).
DOCUMENT_TYPES = (int(BusinessDocType.NEW), int(BusinessDocType.REPLACE))
# What a replacement may name on our side: a document still kept for the clerk or registered.
REPLACEABLE_STATES = (ReceivedState.PENDING, ReceivedState.QUARANTINED, ReceivedState.REGISTERED)
RECENT = 30


@dataclass(frozen=True)
class Replacing:
    """What a document being sent replaces: our earlier document, and the packet's words."""

    document_id: int
    info: Replacement

    def business(self, reason: str) -> Business:
        return Business(doc_type=BusinessDocType.REPLACE, reason=reason, replacements=(self.info,))


def _sent_to(document_id: int) -> Select[AxisDelivery, str]:
    return (
        select(AxisDelivery, AxisDispatch.document_key)
        .join(AxisDispatch, AxisDispatch.id == AxisDelivery.dispatch_id)
        .where(
            AxisDelivery.document_id == document_id,
            AxisDispatch.business_type.in_(DOCUMENT_TYPES),
            AxisDelivery.state == DeliveryState.SENT,
        )
        .order_by(AxisDelivery.id)
    )


async def replaceable(db: AsyncSession, *, agency_id: int) -> list[Document]:
    """The agency's issued documents that went out over the axis, newest first: what a new
    document may replace."""
    sent = (
        select(AxisDelivery.id)
        .join(AxisDispatch, AxisDispatch.id == AxisDelivery.dispatch_id)
        .where(
            AxisDelivery.document_id == Document.id,
            AxisDispatch.business_type.in_(DOCUMENT_TYPES),
            AxisDelivery.state == DeliveryState.SENT,
        )
        .exists()
    )
    return list(
        await db.scalars(
            select(Document)
            .where(
                Document.agency_id == agency_id,
                Document.direction == catalogue.Direction.OUTGOING,
                Document.status == catalogue.Status.ISSUED,
                sent,
            )
            .order_by(Document.issue_date.desc(), Document.id.desc())
            .limit(RECENT)
        )
    )


async def replacing(
    db: AsyncSession,
    *,
    agency_id: int,
    document_id: int,
    replaced_id: int,
    recipient_codes: Sequence[str],
) -> Replacing:
    """Check the clerk's "Thay thế văn bản …": the replaced document is this agency's, issued
    and sent over the axis, and some of the new document's recipients received it."""
    replaced = await db.get(Document, replaced_id)
    rows = (await db.execute(_sent_to(replaced_id))).all() if replaced is not None else []
    if (
        replaced is None
        or replaced.agency_id != agency_id
        or replaced.direction != catalogue.Direction.OUTGOING
        or replaced.status != catalogue.Status.ISSUED
        or replaced.id == document_id
        or not rows
    ):
        raise ValidationError(
            "Văn bản được thay thế phải là văn bản khác của cơ quan mình, đã phát hành và đã "
            "gửi qua trục liên thông.",
            "The replaced document must be another document of this agency, issued and sent "
            "over the axis.",
        )
    wanted = {code.strip().upper() for code in recipient_codes}
    concerned = sorted({d.recipient_code for d, _ in rows} & wanted)
    if not concerned:
        raise ValidationError(
            "Không nơi nhận nào đã chọn đã nhận văn bản được thay thế qua trục; hãy chọn các "
            "cơ quan đã nhận văn bản đó.",
            "None of the chosen recipients received the replaced document over the axis.",
        )
    document_key = rows[-1][1]
    return Replacing(replaced_id, Replacement(document_id=document_key, organ_ids=tuple(concerned)))


async def mark_replaced(
    db: AsyncSession, *, row: AxisReceived, packet: DocumentPacket, our_code: str
) -> list[AxisReceived]:
    """A replacement was taken in: the documents it names, received from the same sender by
    the same agency of ours (and meant for it, when the packet lists the recipients concerned),
    are marked replaced by it."""
    marked: list[AxisReceived] = []
    for info in packet.business.replacements:
        if info.organ_ids and our_code.upper() not in {o.strip().upper() for o in info.organ_ids}:
            continue
        key = statuses.match_key(info.document_id)
        if not key:
            continue
        found = await db.scalars(
            select(AxisReceived).where(
                AxisReceived.agency_id == row.agency_id,
                AxisReceived.sender_code == row.sender_code,
                AxisReceived.kind == "edoc",
                AxisReceived.match_key == key,
                AxisReceived.id != row.id,
                AxisReceived.state.in_(REPLACEABLE_STATES),
                AxisReceived.replaced_by_id.is_(None),
            )
        )
        for earlier in found:
            earlier.replaced_by_id = row.id
            marked.append(earlier)
    return marked


@dataclass(frozen=True)
class Link:
    """The other side of a replacement: a document of ours, or a packet still waiting."""

    document_id: int | None
    received_id: int | None
    number_symbol: str
    subject: str


@dataclass(frozen=True)
class Links:
    replaces: tuple[Link, ...] = ()
    replaced_by: tuple[Link, ...] = ()


def _received_link(row: AxisReceived) -> Link:
    return Link(row.document_id, row.id, row.number_symbol, row.subject)


def _document_link(document: Document) -> Link:
    return Link(document.id, None, document.number_symbol, document.subject)


async def of_received(db: AsyncSession, row: AxisReceived) -> Links:
    replaces = await db.scalars(select(AxisReceived).where(AxisReceived.replaced_by_id == row.id))
    replaced_by = await db.get(AxisReceived, row.replaced_by_id) if row.replaced_by_id else None
    return Links(
        replaces=tuple(_received_link(r) for r in replaces),
        replaced_by=(_received_link(replaced_by),) if replaced_by is not None else (),
    )


async def of_document(db: AsyncSession, document: Document) -> Links:
    """A document's replacements: for one we sent, from our dispatches; for one received over
    the axis, from the packets."""
    if document.direction == catalogue.Direction.OUTGOING:
        # By id through a subquery: SELECT DISTINCT over the documents' columns fails on
        # PostgreSQL (a json column has no equality operator).
        replaces = await db.scalars(
            select(Document)
            .where(
                Document.id.in_(
                    select(AxisDispatch.replaces_document_id).where(
                        AxisDispatch.document_id == document.id
                    )
                )
            )
            .order_by(Document.id)
        )
        replaced_by = await db.scalars(
            select(Document)
            .where(
                Document.id.in_(
                    select(AxisDispatch.document_id).where(
                        AxisDispatch.replaces_document_id == document.id
                    )
                )
            )
            .order_by(Document.id)
        )
        return Links(
            replaces=tuple(_document_link(d) for d in replaces),
            replaced_by=tuple(_document_link(d) for d in replaced_by),
        )
    if document.source != catalogue.Source.AXIS:
        return Links()
    rows = list(
        await db.scalars(
            select(AxisReceived).where(
                AxisReceived.document_id == document.id,
                AxisReceived.state == ReceivedState.REGISTERED,
            )
        )
    )
    links = [await of_received(db, row) for row in rows]
    return Links(
        replaces=tuple(link for each in links for link in each.replaces),
        replaced_by=tuple(link for each in links for link in each.replaced_by),
    )
