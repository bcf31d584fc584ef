"""The transactional outbox: a notice is a row written in the caller's transaction, so it is
sent if and only if the change it announces commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.clock import Clock
from backend.push.events import NoticeQueued
from backend.push.payloads import Notice
from backend.push.tables import PushOutbox


async def enqueue(
    db: AsyncSession,
    *,
    clock: Clock,
    user_id: int,
    notice: Notice,
    dedupe_key: str | None = None,
) -> PushOutbox | None:
    """Add one notice for `user_id`; with `dedupe_key`, a second call adds nothing."""
    if dedupe_key is not None:
        existing = await db.scalar(select(PushOutbox.id).where(PushOutbox.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    now = clock.now()
    row = PushOutbox(
        user_id=user_id,
        payload={
            "title": notice.title,
            "body": notice.body,
            "page": notice.page.as_json(),
            "tag": notice.topic,
        },
        urgency=notice.urgency,
        ttl=notice.ttl,
        topic=notice.topic,
        dedupe_key=dedupe_key,
        created_at=now,
        not_before=now,
        attempts=0,
        delivered_to=[],
        last_error="",
    )
    db.add(row)
    await db.flush()
    events.record(db, NoticeQueued())
    return row
