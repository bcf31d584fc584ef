"""Overdue detection, the morning digest and escalation, run by a scheduler that is safe with
several processes: a Redis lock lets one process work at a time, and every notice carries a
dedupe key (unique in SQL), so even two overlapping runs add each notice once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.clock import VIETNAM, Clock
from backend.core.models import Role, User, UserRole
from backend.core.settings import Settings
from backend.documents.tables import Document
from backend.push import outbox, payloads
from backend.push.runtime import stop_tasks
from backend.workflow import deadlines
from backend.workflow.deadlines import Calendar, parse_holidays
from backend.workflow.tables import Assignment, Part, State

log = logging.getLogger("eoffice.reminders")
LOCK = "scheduler:reminders"
WORKING = (State.ACTIVE.value, State.IN_PROGRESS.value)


# Other periodic work run by the scheduler under its lock: takes the session, returns anything.
Chore = Callable[[AsyncSession], Awaitable[object]]


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


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=VIETNAM).astimezone(UTC)


async def overdue(db: AsyncSession, *, now: datetime) -> list[Assignment]:
    """Open chủ trì and phối hợp hops held by a person, past their deadline at `now`."""
    return list(
        await db.scalars(
            select(Assignment)
            .where(
                Assignment.state.in_(WORKING),
                Assignment.part != Part.INFORM.value,
                Assignment.deadline < now,
                Assignment.user_id.is_not(None),
            )
            .order_by(Assignment.id)
        )
    )


@dataclass
class Tally:
    due_today: int = 0
    overdue: int = 0


async def send_digests(db: AsyncSession, *, clock: Clock, today: date) -> int:
    """Each person: their own hops due today or overdue. Each unit head besides: the open hops
    of their unit (given to the unit and not yet handed down, or held by its people)."""
    now = clock.now()
    rows = await db.execute(
        select(Assignment.user_id, Assignment.unit_id, User.unit_id, Assignment.deadline)
        .outerjoin(User, User.id == Assignment.user_id)
        .where(
            Assignment.state.in_(WORKING),
            Assignment.part != Part.INFORM.value,
            Assignment.deadline < _end_of(today),
        )
    )
    personal: defaultdict[int, Tally] = defaultdict(Tally)
    units: defaultdict[int, Tally] = defaultdict(Tally)
    for user_id, unit_id, holder_unit_id, deadline in rows:
        if deadline is None:
            continue
        late = deadline < now
        targets = [personal[user_id]] if user_id is not None else []
        unit_key = unit_id if unit_id is not None else holder_unit_id
        if unit_key is not None:
            targets.append(units[unit_key])
        for tally in targets:
            if late:
                tally.overdue += 1
            else:
                tally.due_today += 1
    heads: dict[int, int] = {}
    if units:
        for head_id, unit_id in await db.execute(
            select(User.id, User.unit_id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.UNIT_HEAD.value, User.is_active.is_(True),
                   User.unit_id.in_(list(units)))
        ):  # fmt: skip
            if unit_id is not None:
                heads[head_id] = unit_id
    sent = 0
    for user_id in sorted(set(personal) | set(heads)):
        mine = personal.get(user_id, Tally())
        unit = units[heads[user_id]] if user_id in heads else Tally()
        if not (mine.due_today or mine.overdue or unit.due_today or unit.overdue):
            continue
        notice = payloads.digest(
            day=today, due_today=mine.due_today, overdue=mine.overdue,
            unit_due_today=unit.due_today, unit_overdue=unit.overdue,
        )  # fmt: skip
        key = f"digest:{today.isoformat()}:{user_id}"
        if await outbox.enqueue(db, clock=clock, user_id=user_id, notice=notice, dedupe_key=key):
            sent += 1
    return sent


async def escalate(db: AsyncSession, *, clock: Clock, today: date, rules: Rules) -> int:
    """Tell the assigner about a chủ trì overdue by the margin, and again once each working day
    while it stays overdue. Repeating is not noise here: the notice carries the document's Topic,
    so the newer one replaces the older on the device (one notice per document, with the days
    late brought up to date), and a leader who was told once and forgot is exactly the case."""
    now = clock.now()
    sent = 0
    for hop in await overdue(db, now=now):
        if hop.part != Part.LEAD or hop.deadline is None:
            continue
        deadline = hop.deadline
        if now < rules.calendar.escalation_due(deadline, rules.escalation_margin_days):
            continue
        late = max(1, rules.calendar.working_days_late(deadlines.local_day(deadline), today))
        document = await db.get_one(Document, hop.document_id)
        holder = await db.get_one(User, hop.user_id)
        notice = payloads.escalation(
            document_id=document.id, subject=document.subject, assignee=holder.full_name,
            deadline=deadline, days_late=late,
        )  # fmt: skip
        # Once per hop, deadline and working day.
        key = f"escalate:{hop.id}:{deadline:%Y%m%d%H%M}:{today.isoformat()}"
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
    also: Chore | None = None,
) -> RunReport | None:
    """One scheduler step; None when another process holds the lock. ``also`` runs after the
    reminders, under the same lock, in its own transaction (e.g. archival renewal)."""
    if not await redis.set(LOCK, holder, nx=True, px=lease_ms):
        return None
    try:
        async with sessions() as db, db.begin():
            report = await run_due(db, clock=clock, rules=rules)
        if also is not None:
            async with sessions() as db, db.begin():
                await also(db)
        return report
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
        also: Chore | None = None,
    ) -> None:
        self.sessions, self.redis, self.clock, self.rules = sessions, redis, clock, rules
        self.holder, self.every, self.also = holder, every_seconds, also
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
                           holder=self.holder, also=self.also)  # fmt: skip
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
