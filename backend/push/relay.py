"""Outbox → Redis stream. Rows are the truth: a row not finished is relayed again after
`redeliver_after`, so a lost stream (Redis restarted without persistence) or a worker that died
holding an entry loses nothing."""

from __future__ import annotations

from datetime import timedelta

import redis.asyncio as aioredis
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.clock import Clock
from backend.push.tables import PushOutbox

STREAM = "push:stream"
GROUP = "senders"
# The stream is a queue, not an archive: finished entries are trimmed.
MAXLEN = 100_000


async def relay_once(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    clock: Clock,
    redeliver_after: timedelta,
    limit: int = 500,
) -> int:
    """Move due, unfinished rows to the stream; returns how many."""
    now = clock.now()
    async with sessions() as db, db.begin():
        ids = list(
            await db.scalars(
                select(PushOutbox.id)
                .where(
                    PushOutbox.delivered_at.is_(None),
                    PushOutbox.dead_at.is_(None),
                    PushOutbox.not_before <= now,
                    or_(
                        PushOutbox.relayed_at.is_(None),
                        PushOutbox.relayed_at < now - redeliver_after,
                    ),
                )
                .order_by(PushOutbox.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return 0
        async with redis.pipeline(transaction=False) as pipe:
            for oid in ids:
                pipe.xadd(STREAM, {"id": str(oid)}, maxlen=MAXLEN, approximate=True)
            await pipe.execute()
        await db.execute(update(PushOutbox).where(PushOutbox.id.in_(ids)).values(relayed_at=now))
    return len(ids)
