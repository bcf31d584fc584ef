"""SQL tables of the handling workflow: assignments (one row per hop), the timeline, requests for
a leader's direction, milestones and the files reported with progress."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base, UtcDateTime


class Part(enum.StrEnum):
    LEAD = "lead"  # chủ trì
    COOPERATE = "cooperate"  # phối hợp
    INFORM = "inform"  # để biết


class State(enum.StrEnum):
    ACTIVE = "active"
    IN_PROGRESS = "in_progress"
    # Handed down within the unit: the child hop carries the work.
    DELEGATED = "delegated"
    COMPLETED = "completed"
    RETURNED = "returned"
    # Closed because the sender recalled the document (Decree 30 Art. 18.4).
    CANCELLED = "cancelled"


OPEN_STATES = (State.ACTIVE, State.IN_PROGRESS, State.DELEGATED)


class Assignment(Base):
    """One hop: a leader to a unit or person, a unit head down to a specialist."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    part: Mapped[str] = mapped_column(String(16))
    # A unit (its head re-assigns) or a person; exactly one of the two.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # A moment (hạn xử lý 17:00 27/11/2026), stored in UTC like every timestamp here.
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())
    direction: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_assignments_document", "document_id", "id"),
        Index("ix_assignments_user_state", "user_id", "state"),
        Index("ix_assignments_unit_state", "unit_id", "state"),
        Index("ix_assignments_state_deadline", "state", "deadline"),
    )


class TimelineEvent(Base):
    """Every step on a document: who, what, when, from which device."""

    __tablename__ = "timeline_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    device: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The idempotency key an offline queue sends with a report: a replay records nothing new.
    client_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_timeline_events_document", "document_id", "id"),
        UniqueConstraint("actor_id", "client_key", name="uq_timeline_events_actor_client_key"),
    )


class DirectionRequest(Base):
    """Trình lãnh đạo: the office chief puts a registered document before a leader, who gives
    the direction and assigns it ("Chờ cho ý kiến" until then)."""

    __tablename__ = "direction_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_direction_requests_leader_open", "leader_id", "closed_at"),
        Index("ix_direction_requests_document", "document_id"),
    )


class Milestone(Base):
    """One step of the chủ trì's checklist; ticking steps sets the hop's percentage."""

    __tablename__ = "assignment_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_assignment_milestones_assignment", "assignment_id", "position"),)


class ProgressFile(Base):
    """A file reported with progress; the bytes are in the blob store."""

    __tablename__ = "progress_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("timeline_events.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_progress_files_event", "event_id"),)
