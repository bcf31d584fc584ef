"""Overdue detection, the morning digest and escalation: a periodic job (`REMINDERS_JOB`, every
`EVERY`), so one process at a time runs it; every notice also carries a dedupe key (unique in
SQL), so even two overlapping runs add each notice once."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import jobs
from backend.core.clock import VIETNAM, Clock
from backend.core.models import Role, User, UserRole
from backend.core.settings import Settings
from backend.documents.tables import Document
from backend.push import outbox, payloads
from backend.workflow import deadlines
from backend.workflow.deadlines import Calendar, parse_holidays
from backend.workflow.tables import Assignment, Part, State

log = logging.getLogger("eoffice.reminders")
REMINDERS_JOB = "workflow.reminders"
EVERY = timedelta(minutes=1)
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
            .where(
                UserRole.role == Role.UNIT_HEAD.value,
                User.is_active.is_(True),
                User.unit_id.in_(list(units)),
            )
        ):
            if unit_id is not None:
                heads[head_id] = unit_id
    sent = 0
    for user_id in sorted(set(personal) | set(heads)):
        mine = personal.get(user_id, Tally())
        unit = units[heads[user_id]] if user_id in heads else Tally()
        if not (mine.due_today or mine.overdue or unit.due_today or unit.overdue):
            continue
        notice = payloads.digest(
            day=today,
            due_today=mine.due_today,
            overdue=mine.overdue,
            unit_due_today=unit.due_today,
            unit_overdue=unit.overdue,
        )
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
            document_id=document.id,
            subject=document.subject,
            assignee=holder.full_name,
            deadline=deadline,
            days_late=late,
        )
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


async def run_job(ctx: jobs.Context, job: jobs.ClaimedJob) -> None:
    """The periodic job: what is due now, in one transaction (the push relay's poll sends the
    notices)."""
    async with ctx.sessions() as db, db.begin():
        await run_due(db, clock=ctx.clock, rules=rules_from(ctx.settings))


def rules_from(settings: Settings) -> Rules:
    return Rules(
        calendar=Calendar(parse_holidays(settings.holidays)),
        digest_hour=settings.digest_hour,
        escalation_margin_days=settings.escalation_margin_days,
    )
