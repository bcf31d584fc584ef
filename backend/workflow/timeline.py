"""Reading a document's handling: the timeline, the hops, and which hops are the viewer's."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.models import Unit, User
from backend.documents.tables import Document
from backend.identity.policy import HopRef
from backend.workflow import deadlines
from backend.workflow.assignments import holds, hop_ref
from backend.workflow.tables import (
    OPEN_STATES,
    Assignment,
    DirectionRequest,
    Milestone,
    ProgressFile,
    State,
    TimelineEvent,
)


@dataclass(frozen=True)
class Step:
    at: datetime
    kind: str
    actor: str
    note: str
    device: str
    detail: dict[str, object]
    files: list[ProgressFile] = field(default_factory=list)
    # Whom the step was addressed to (the leader a document was put before).
    target: str = ""


@dataclass(frozen=True)
class Hop:
    row: Assignment
    holder: str
    assigned_by: str
    mine: bool
    ref: HopRef  # what the policy asks about: may the viewer hand it down?
    milestones: list[Milestone] = field(default_factory=list)

    @property
    def due(self) -> datetime | None:
        """The deadline in Hà Nội time."""
        return deadlines.local(self.row.deadline) if self.row.deadline else None


@dataclass(frozen=True)
class Waiting:
    """The document waits for this leader's direction (trình lãnh đạo)."""

    leader: str
    by: str
    note: str
    since: datetime


@dataclass(frozen=True)
class Handling:
    steps: list[Step]
    hops: list[Hop]
    waiting: Waiting | None = None

    @property
    def mine(self) -> list[Hop]:
        return [h for h in self.hops if h.mine and h.row.state in OPEN_STATES]


async def _names(db: AsyncSession, user_ids: set[int], unit_ids: set[int]) -> dict[str, str]:
    names: dict[str, str] = {}
    if user_ids:
        for uid, name in await db.execute(
            select(User.id, User.full_name).where(User.id.in_(user_ids))
        ):
            names[f"u:{uid}"] = name
    if unit_ids:
        for did, name in await db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))):
            names[f"d:{did}"] = name
    return names


async def handling(db: AsyncSession, *, document: Document, viewer: User) -> Handling:
    document_id = document.id
    events = list(
        await db.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.document_id == document_id)
            .order_by(TimelineEvent.id)
        )
    )
    rows = list(
        await db.scalars(
            select(Assignment).where(Assignment.document_id == document_id).order_by(Assignment.id)
        )
    )
    request = await db.scalar(
        select(DirectionRequest).where(
            DirectionRequest.document_id == document_id, DirectionRequest.closed_at.is_(None)
        )
    )
    files: defaultdict[int, list[ProgressFile]] = defaultdict(list)
    for found in await db.scalars(
        select(ProgressFile)
        .where(ProgressFile.document_id == document_id)
        .order_by(ProgressFile.id)
    ):
        files[found.event_id].append(found)
    steps_of: defaultdict[int, list[Milestone]] = defaultdict(list)
    if rows:
        for step in await db.scalars(
            select(Milestone)
            .where(Milestone.assignment_id.in_([r.id for r in rows]))
            .order_by(Milestone.assignment_id, Milestone.position)
        ):
            steps_of[step.assignment_id].append(step)
    user_ids = {e.actor_id for e in events if e.actor_id} | {r.assigned_by_id for r in rows}
    user_ids |= {
        int(str(e.detail["leader"])[2:])
        for e in events
        if e.kind == "forwarded" and str(e.detail.get("leader", "")).startswith("u:")
    }
    user_ids |= {r.user_id for r in rows if r.user_id}
    if request is not None:
        user_ids |= {request.leader_id, request.requested_by_id}
    names = await _names(db, user_ids, {r.unit_id for r in rows if r.unit_id})
    steps = [
        Step(
            e.at,
            e.kind,
            names.get(f"u:{e.actor_id}", ""),
            e.note,
            e.device,
            e.detail,
            files.get(e.id, []),
            names.get(str(e.detail.get("leader", "")), ""),
        )
        for e in events
    ]
    hops = [
        Hop(
            row=r,
            holder=names.get(f"u:{r.user_id}" if r.user_id else f"d:{r.unit_id}", ""),
            assigned_by=names.get(f"u:{r.assigned_by_id}", ""),
            mine=holds(viewer, r, document),
            ref=hop_ref(r, document),
            milestones=steps_of.get(r.id, []),
        )
        for r in rows
    ]
    waiting = (
        Waiting(
            leader=names.get(f"u:{request.leader_id}", ""),
            by=names.get(f"u:{request.requested_by_id}", ""),
            note=request.note,
            since=request.created_at,
        )
        if request is not None
        else None
    )
    return Handling(steps=steps, hops=hops, waiting=waiting)


async def assignee_ids(db: AsyncSession, document_id: int) -> tuple[list[int], list[int]]:
    """People and units a document was given to (any hop, open or closed): the policy's scope."""
    rows = await db.execute(
        select(Assignment.user_id, Assignment.unit_id).where(Assignment.document_id == document_id)
    )
    users, units = set(), set()
    for user_id, unit_id in rows:
        if user_id is not None:
            users.add(user_id)
        if unit_id is not None:
            units.add(unit_id)
    return sorted(users), sorted(units)


__all__ = ["Handling", "Hop", "State", "Step", "Waiting", "assignee_ids", "handling", "holds"]
