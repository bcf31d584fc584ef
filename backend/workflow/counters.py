"""Live counters and lists: how much open work a person has, and who to tell (over SSE) when a
document changes, so their counter and their document lists refresh."""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as aioredis
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import live
from backend.core.models import Role, User, UserRole
from backend.documents.tables import Document
from backend.identity import policy
from backend.workflow import dashboard_cache
from backend.workflow.tables import Assignment, Part, State, TimelineEvent

WORKING = (State.ACTIVE.value, State.IN_PROGRESS.value)


async def open_work(db: AsyncSession, user: User) -> int:
    """Documents with a chủ trì or phối hợp hop waiting on this person (or their unit, for a
    unit head)."""
    holder = Assignment.user_id == user.id
    if (unit := policy.held_unit(policy.principal_of(user))) is not None:
        holder = or_(holder, Assignment.unit_id == unit)
    count = await db.scalar(
        select(func.count(func.distinct(Assignment.document_id))).where(
            holder, Assignment.state.in_(WORKING), Assignment.part != Part.INFORM.value
        )
    )
    return int(count or 0)


async def concerned(db: AsyncSession, document_id: int) -> set[int]:
    """Everyone whose lists a change to this document may alter."""
    hops = list(
        await db.execute(
            select(Assignment.user_id, Assignment.unit_id, Assignment.assigned_by_id).where(
                Assignment.document_id == document_id
            )
        )
    )
    people = {u for u, _, _ in hops if u} | {b for _, _, b in hops}
    units = {d for _, d, _ in hops if d}
    if units:
        heads = await db.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.unit_id.in_(units), UserRole.role == Role.UNIT_HEAD.value)
        )
        people |= set(heads)
    return people


async def registered_audience(db: AsyncSession, *, agency_id: int, unit_id: int | None) -> set[int]:
    """Who sees a newly registered document in their lists: the agency's leaders and clerks (the
    whole agency is theirs), and the heads of the unit it was registered to."""
    roles = [Role.LEADER.value, Role.CLERK.value]
    in_scope: ColumnElement[bool] = UserRole.role.in_(roles)
    if unit_id is not None:
        in_scope = or_(
            in_scope, and_(UserRole.role == Role.UNIT_HEAD.value, User.unit_id == unit_id)
        )
    found = await db.scalars(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.agency_id == agency_id, in_scope)
    )
    return set(found)


async def _last_step(db: AsyncSession, document_id: int) -> str:
    kind = await db.scalar(
        select(TimelineEvent.kind)
        .where(TimelineEvent.document_id == document_id)
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    )
    return kind if kind in live.DOCUMENT_KINDS else "changed"


async def announce(
    db: AsyncSession, redis: aioredis.Redis, *, user_ids: Iterable[int], document_id: int
) -> None:
    """After the commit of a handling step: each person's open-work count ("work"), the
    document event their lists refresh on, and a new generation of the agency's dashboard."""
    people = sorted(set(user_ids))
    for user_id in people:
        user = await db.get(User, user_id)
        if user is not None:
            count = await open_work(db, user)
            await live.publish(redis, user_id, "work", {"count": count, "document": document_id})
    await live.announce_document(redis, people, document_id, await _last_step(db, document_id))
    agency_id = await db.scalar(select(Document.agency_id).where(Document.id == document_id))
    if agency_id is not None:
        await dashboard_cache.changed(redis, agency_id)
