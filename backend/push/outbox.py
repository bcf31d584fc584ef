"""The transactional outbox: a notice is a row written in the caller's transaction, with the
job that sends it (`sender.SEND_JOB`), so it is sent if and only if the change it announces
commits. Dead letters (out of attempts, `EOFFICE_PUSH_MAX_ATTEMPTS`) wait for the
administrator's retry."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import jobs
from backend.core.clock import Clock
from backend.core.errors import NotFoundError
from backend.core.models import User
from backend.push.payloads import Notice
from backend.push.sender import SEND_JOB
from backend.push.tables import PushOutbox

# The send job's own limit is only a safety net (a notice whose sending kills its worker again
# and again): the sender dead-letters the row after `settings.push_max_attempts` failed sends.
JOB_ATTEMPTS = 50


async def enqueue(
    db: AsyncSession,
    *,
    clock: Clock,
    user_id: int,
    notice: Notice,
    dedupe_key: str | None = None,
) -> PushOutbox | None:
    """Add one notice for `user_id`, and its send job; with `dedupe_key`, a second call adds
    nothing."""
    if dedupe_key is not None:
        existing = await db.scalar(select(PushOutbox.id).where(PushOutbox.dedupe_key == dedupe_key))
        if existing is not None:
            return None
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
        created_at=clock.now(),
        attempts=0,
        delivered_to=[],
        last_error="",
    )
    db.add(row)
    await db.flush()
    await jobs.enqueue(
        db,
        clock=clock,
        kind=SEND_JOB,
        payload={"notice": row.id},
        idempotency_key=f"{SEND_JOB}:{row.id}",
        max_attempts=JOB_ATTEMPTS,
    )
    return row


async def dead_letters(
    db: AsyncSession, *, agency_id: int, limit: int = 200
) -> Sequence[PushOutbox]:
    return list(
        await db.scalars(
            select(PushOutbox)
            .join(User, User.id == PushOutbox.user_id)
            .where(PushOutbox.dead_at.is_not(None), User.agency_id == agency_id)
            .order_by(PushOutbox.dead_at.desc())
            .limit(limit)
        )
    )


async def retry_dead(db: AsyncSession, *, clock: Clock, outbox_id: int, agency_id: int) -> None:
    """Send a dead-lettered notice again (to the devices it has not reached), from a fresh
    count of attempts."""
    row = await db.get(PushOutbox, outbox_id)
    owner = await db.get(User, row.user_id) if row is not None else None
    if row is None or row.dead_at is None or owner is None or owner.agency_id != agency_id:
        raise NotFoundError("Không tìm thấy thông báo.", "No such notice.")
    row.dead_at, row.attempts = None, 0
    # A new job (the first one is dead or done), its attempts counted from 1 again.
    await jobs.enqueue(
        db, clock=clock, kind=SEND_JOB, payload={"notice": row.id}, max_attempts=JOB_ATTEMPTS
    )
