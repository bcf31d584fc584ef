"""Live counters: how much open work a person has, announced over SSE when it changes."""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as aioredis
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import live
from backend.models import Role, User, UserRole
from backend.workflow.tables import Assignment, Part, State

WORKING = (State.ACTIVE.value, State.IN_PROGRESS.value)


async def open_work(db: AsyncSession, user: User) -> int:
    """Documents with a chủ trì or phối hợp hop waiting on this person (or their unit, for a
    unit head)."""
    holder = Assignment.user_id == user.id
    if Role.UNIT_HEAD in user.roles and user.unit_id is not None:
        holder = or_(holder, Assignment.unit_id == user.unit_id)
    count = await db.scalar(
        select(func.count(func.distinct(Assignment.document_id))).where(
            holder, Assignment.state.in_(WORKING), Assignment.part != Part.INFORM.value
        )
    )
    return int(count or 0)


async def concerned(db: AsyncSession, document_id: int) -> set[int]:
    """Everyone whose lists a change to this document may alter."""
    hops = list(await db.execute(
        select(Assignment.user_id, Assignment.unit_id, Assignment.assigned_by_id)
        .where(Assignment.document_id == document_id)
    ))  # fmt: skip
    people = {u for u, _, _ in hops if u} | {b for _, _, b in hops}
    units = {d for _, d, _ in hops if d}
    if units:
        heads = await db.scalars(
            select(User.id).join(UserRole, UserRole.user_id == User.id)
            .where(User.unit_id.in_(units), UserRole.role == Role.UNIT_HEAD.value)
        )  # fmt: skip
        people |= set(heads)
    return people


async def announce(
    db: AsyncSession, redis: aioredis.Redis, *, user_ids: Iterable[int], document_id: int
) -> None:
    for user_id in sorted(set(user_ids)):
        user = await db.get(User, user_id)
        if user is not None:
            count = await open_work(db, user)
            await live.publish(redis, user_id, "work", {"count": count, "document": document_id})
