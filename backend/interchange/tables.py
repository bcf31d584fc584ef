"""SQL tables of the exchange over the national axis.

Outgoing: a `AxisDispatch` is one edXML packet, built once (its bytes in the blob store), and
an `AxisDelivery` is its journey to one recipient agency: transport state, the axis DocId, and
the latest business status the recipient sent back. Incoming: every packet fetched from the
axis is an `AxisReceived` row with its raw bytes kept before it is acknowledged, so a parser
bug or a crash never loses one. `AxisStatusEvent` is the status timeline of both sides.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base, UtcDateTime


class DeliveryState(enum.StrEnum):
    """Where one packet to one recipient is on our side of the axis."""

    QUEUED = "queued"  # chưa gửi
    SENDING = "sending"  # a send was attempted; its outcome may be unknown (crash, timeout)
    SENT = "sent"  # the axis accepted it and gave a DocId
    FAILED = "failed"  # gửi lỗi: refused by the axis, or out of attempts; a clerk may retry
    WITHDRAWN = "withdrawn"  # recalled before it left our outbox: nothing went out


class RecallState(enum.StrEnum):
    NONE = ""
    REQUESTED = "requested"
    ACCEPTED = "accepted"  # 15
    REFUSED = "refused"  # 16


class ReceivedState(enum.StrEnum):
    """What became of one packet fetched from the axis."""

    STORED = "stored"  # raw bytes kept, not yet read
    PENDING = "pending"  # a document waiting for the clerk (01 sent): register or refuse
    REGISTERED = "registered"  # in the register of incoming documents (03 sent)
    REFUSED = "refused"  # returned to the sender with a reason (02 sent)
    QUARANTINED = "quarantined"  # unreadable or refused by our rules; kept for the clerk
    DUPLICATE = "duplicate"  # the same document delivered again; linked to the first
    APPLIED = "applied"  # a status packet applied to our sent document
    PARKED = "parked"  # a status packet for a document we do not know (yet)
    WITHDRAWN = "withdrawn"  # the sender recalled it before it was registered (15 sent)
    # An update (BussinessDocType 2) of a registered document, waiting for the clerk: accepted
    # (15, applied to the document: then `applied`) or refused (16: `declined`).
    UPDATE = "update"
    DECLINED = "declined"
    # Not registered, and a later update of it came: kept, not offered any more (15 sent).
    SUPERSEDED = "superseded"


class AxisDispatch(Base):
    __tablename__ = "axis_dispatches"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    # BussinessDocType: 0 new, 1 recall, 2 update, 3 replace.
    business_type: Mapped[int] = mapped_column(Integer, default=0)
    # The edXML DocumentId `OrganId,yyyy/MM/dd,Number/Notation`.
    document_key: Mapped[str] = mapped_column(String(255))
    # Số/ký hiệu as the axis lists it (getSentEdocList `notation`).
    notation: Mapped[str] = mapped_column(String(128), default="")
    packet_sha256: Mapped[str] = mapped_column(String(64), default="")
    packet_size: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    # The subject of the seal certificate the packet was signed with (XML-DSig); empty when it
    # went unsigned (no seal key, or not a new document's packet).
    signed_by: Mapped[str] = mapped_column(String(512), default="")
    # Each "Gửi lại" of failed deliveries is a new round of the send job.
    send_rounds: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A replacement (type 3): our earlier document it replaces.
    replaces_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)


class AxisDelivery(Base):
    __tablename__ = "axis_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("axis_dispatches.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    recipient_code: Mapped[str] = mapped_column(String(32))
    recipient_name: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.QUEUED)
    axis_doc_id: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The recipient's latest business status (01…06) and when it was given.
    status_code: Mapped[str] = mapped_column(String(2), default="")
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_note: Mapped[str] = mapped_column(Text, default="")
    recall: Mapped[str] = mapped_column(String(16), default=RecallState.NONE)
    # An update (type 2) asked of this recipient: requested, then accepted (15) or refused (16,
    # with the recipient's reason in `update_note`; while requested, our reason).
    update_state: Mapped[str] = mapped_column(String(16), default=RecallState.NONE)
    update_note: Mapped[str] = mapped_column(Text, default="")
    # Set on the delivery of an update packet: the delivery of the document it updates. Such
    # deliveries carry the packet; the recipient's statuses belong to the one they are about.
    about_id: Mapped[int | None] = mapped_column(ForeignKey("axis_deliveries.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("dispatch_id", "recipient_code"),
        Index("ix_axis_deliveries_recipient_state", "recipient_code", "state"),
    )


class AxisReceived(Base):
    __tablename__ = "axis_received"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Ours: the agency (of this system) the packet was addressed to.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    axis_doc_id: Mapped[str] = mapped_column(String(64), unique=True)
    message_type: Mapped[str] = mapped_column(String(8))
    packet_sha256: Mapped[str] = mapped_column(String(64))
    packet_size: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16), default=ReceivedState.STORED)
    kind: Mapped[str] = mapped_column(String(8), default="")  # edoc | status, read from content
    business_type: Mapped[int | None] = mapped_column(Integer)
    sender_code: Mapped[str] = mapped_column(String(32), default="")
    sender_name: Mapped[str] = mapped_column(String(255), default="")
    # DocumentId as written, and the normalised key two systems match on (see docid.key()).
    document_key_text: Mapped[str] = mapped_column(String(255), default="")
    match_key: Mapped[str] = mapped_column(String(255), default="", index=True)
    # Set for the first copy of a new document only: a second delivery cannot take the key.
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    number_symbol: Mapped[str] = mapped_column(String(128), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    promulgated: Mapped[date | None] = mapped_column(Date)
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[str] = mapped_column(String(2), default="")
    problem_vi: Mapped[str] = mapped_column(Text, default="")
    problem_en: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("axis_received.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    recall: Mapped[str] = mapped_column(String(16), default=RecallState.NONE)
    # An update (type 2): the earlier packet of the same document it updates (superseded, or
    # registered and then changed if the clerk agrees).
    original_id: Mapped[int | None] = mapped_column(ForeignKey("axis_received.id"))
    # A document a later one (type 3) replaces: "đã bị thay thế", kept as it was.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("axis_received.id"))

    __table_args__ = (
        UniqueConstraint("agency_id", "dedupe_key"),
        Index("ix_axis_received_state", "agency_id", "state"),
    )


class AxisStatusEvent(Base):
    """One status packet, sent (`out`) about a document we received, or received (`in`) about
    one we sent; the timeline both sides show."""

    __tablename__ = "axis_status_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("axis_deliveries.id"), index=True)
    received_id: Mapped[int | None] = mapped_column(ForeignKey("axis_received.id"), index=True)
    code: Mapped[str] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(Text, default="")
    staff: Mapped[str] = mapped_column(String(255), default="")
    # The packet's own Timestamp (Hà Nội time on the wire), as UTC.
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # For `out`: queued until the axis accepted it, then sent (with its DocId).
    state: Mapped[str] = mapped_column(String(16), default="")
    axis_doc_id: Mapped[str] = mapped_column(String(64), default="")
    # How an `out` recall (13) goes: a status packet, or a BussinessDocType-1 document packet
    # ("edoc") repeating the original's header (README §5.3 B).
    message_type: Mapped[str] = mapped_column(String(8), default="status")
