"""SQL tables of the handling workflow: assignments (one row per hop) and the timeline."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models import Base


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
    deadline: Mapped[date | None] = mapped_column(Date)
    direction: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

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
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_timeline_events_document", "document_id", "id"),)
