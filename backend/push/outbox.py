"""The transactional outbox: a notice is a row written in the caller's transaction, so it is
sent if and only if the change it announces commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
    row = _row(user_id, notice, dedupe_key, clock.now())
    db.add(row)
    await db.flush()
    events.record(db, NoticeQueued())
    return row


async def enqueue_many(
    db: AsyncSession, *, clock: Clock, notices: Sequence[tuple[int, Notice, str]]
) -> list[PushOutbox]:
    """Add several `(user id, notice, dedupe key)` at once — one read of the keys already
    used, one write — as `enqueue` would one by one: a key already used adds nothing."""
    keys = [key for _, _, key in notices]
    taken = set(
        await db.scalars(select(PushOutbox.dedupe_key).where(PushOutbox.dedupe_key.in_(keys)))
    )
    now = clock.now()
    rows: list[PushOutbox] = []
    for user_id, notice, key in notices:
        if key not in taken:
            taken.add(key)
            rows.append(_row(user_id, notice, key, now))
    if rows:
        db.add_all(rows)
        await db.flush()
        events.record(db, NoticeQueued())
    return rows


def _row(user_id: int, notice: Notice, dedupe_key: str | None, now: datetime) -> PushOutbox:
    return PushOutbox(
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
