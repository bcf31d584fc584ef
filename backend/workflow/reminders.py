"""Overdue detection, the morning digest and escalation, run by a scheduler that is safe with
several processes: a Redis lock lets one process work at a time, and every notice carries a
dedupe key (unique in SQL), so even two overlapping runs add each notice once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.clock import VIETNAM, Clock
from backend.documents.tables import Document
from backend.models import User
from backend.push import outbox, payloads
from backend.push.runtime import stop_tasks
from backend.settings import Settings
from backend.workflow.deadlines import Calendar, parse_holidays
from backend.workflow.tables import Assignment, Part, State

log = logging.getLogger("eoffice.reminders")
LOCK = "scheduler:reminders"
WORKING = (State.ACTIVE.value, State.IN_PROGRESS.value)


@dataclass(frozen=True)
class Rules:
    calendar: Calendar
    digest_hour: int = 7
    escalation_margin_days: int = 1


@dataclass(frozen=True)
class RunReport:
    digests: int
    escalations: int


def _today(now: datetime) -> date:
    return now.astimezone(VIETNAM).date()


async def overdue(db: AsyncSession, *, today: date) -> list[Assignment]:
    """Open chủ trì and phối hợp hops past their deadline."""
    return list(
        await db.scalars(
            select(Assignment)
            .where(
                Assignment.state.in_(WORKING),
                Assignment.part != Part.INFORM.value,
                Assignment.deadline < today,
                Assignment.user_id.is_not(None),
            )
            .order_by(Assignment.id)
        )
    )


async def send_digests(db: AsyncSession, *, clock: Clock, today: date) -> int:
    rows = await db.execute(
        select(Assignment.user_id, Assignment.deadline).where(
            Assignment.state.in_(WORKING),
            Assignment.part != Part.INFORM.value,
            Assignment.user_id.is_not(None),
            Assignment.deadline <= today,
        )
    )
    due: Counter[int] = Counter()
    late: Counter[int] = Counter()
    for user_id, deadline in rows:
        if user_id is not None:
            (due if deadline == today else late)[user_id] += 1
    sent = 0
    for user_id in sorted(set(due) | set(late)):
        notice = payloads.digest(day=today, due_today=due[user_id], overdue=late[user_id])
        key = f"digest:{today.isoformat()}:{user_id}"
        if await outbox.enqueue(db, clock=clock, user_id=user_id, notice=notice, dedupe_key=key):
            sent += 1
    return sent


async def escalate(db: AsyncSession, *, clock: Clock, today: date, rules: Rules) -> int:
    sent = 0
    for hop in await overdue(db, today=today):
        if hop.part != Part.LEAD or hop.deadline is None:
            continue
        late = rules.calendar.working_days_late(hop.deadline, today)
        if late < rules.escalation_margin_days:
            continue
        document = await db.get_one(Document, hop.document_id)
        holder = await db.get_one(User, hop.user_id)
        notice = payloads.escalation(
            document_id=document.id, subject=document.subject, assignee=holder.full_name,
            deadline=hop.deadline, days_late=late,
        )  # fmt: skip
        key = f"escalate:{hop.id}:{hop.deadline.isoformat()}"
        if await outbox.enqueue(
            db, clock=clock, user_id=hop.assigned_by_id, notice=notice, dedupe_key=key
        ):
            sent += 1
    return sent


async def run_due(db: AsyncSession, *, clock: Clock, rules: Rules) -> RunReport:
    """What is due at `clock.now()`: on working days from the digest hour on, the digest and the
    escalations (each once a day at most, by their dedupe keys)."""
    now = clock.now()
    today = _today(now)
    local = now.astimezone(VIETNAM)
    if not rules.calendar.is_working_day(today) or local.time() < time(rules.digest_hour):
        return RunReport(0, 0)
    digests = await send_digests(db, clock=clock, today=today)
    escalations = await escalate(db, clock=clock, today=today, rules=rules)
    return RunReport(digests, escalations)


async def tick(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    clock: Clock,
    rules: Rules,
    holder: str,
    lease_ms: int = 55_000,
) -> RunReport | None:
    """One scheduler step; None when another process holds the lock."""
    if not await redis.set(LOCK, holder, nx=True, px=lease_ms):
        return None
    try:
        async with sessions() as db, db.begin():
            return await run_due(db, clock=clock, rules=rules)
    finally:
        # Release only our own lock (it may have expired and been taken meanwhile).
        if await redis.get(LOCK) == holder.encode():
            await redis.delete(LOCK)


class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: aioredis.Redis,
        *,
        clock: Clock,
        rules: Rules,
        holder: str,
        every_seconds: float = 60.0,
    ) -> None:
        self.sessions, self.redis, self.clock, self.rules = sessions, redis, clock, rules
        self.holder, self.every = holder, every_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="reminders")

    async def stop(self) -> None:
        self._stopping = True
        self._stop.set()
        if self._task is not None:
            await stop_tasks([self._task])

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await tick(self.sessions, self.redis, clock=self.clock, rules=self.rules,
                           holder=self.holder)  # fmt: skip
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopping:
                    return
                log.warning("reminder scheduler step failed", exc_info=True)
            # Not a plain sleep: a database or Redis client may have swallowed the cancellation.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every)


def rules_from(settings: Settings) -> Rules:
    return Rules(
        calendar=Calendar(parse_holidays(settings.holidays)),
        digest_hour=settings.digest_hour,
        escalation_margin_days=settings.escalation_margin_days,
    )
