"""Reminders with a controllable clock: deadlines with an hour, the unit head's digest of the
unit's open work, and escalation repeated once per working day while a lead stays overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from backend.core.clock import VIETNAM, FixedClock
from backend.core.models import User
from backend.documents.tables import Document
from backend.push.tables import PushOutbox
from backend.workflow import assignments, reminders
from backend.workflow.assignments import Actor, Party, Plan
from backend.workflow.deadlines import Calendar, due_at
from backend.workflow.tables import Assignment
from tests.backend.identity.conftest import World, resources_of
from tests.backend.workflow.helpers import registered
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio
RULES = reminders.Rules(calendar=Calendar(frozenset()), digest_hour=7, escalation_margin_days=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """`day` March 2026, Hà Nội time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=VIETNAM).astimezone(UTC)


async def test_digest_overdue_and_daily_escalation(
    app: LifespanManager, world: World, clock: FixedClock
) -> None:
    ids = world.user_ids
    res = resources_of(app)
    docs = {
        name: await registered(app, world.agency_id, subject=f"Văn bản {name}") for name in "ABC"
    }
    plans = {
        # The specialist: due Tuesday 10:00; the unit (not handed down yet): Tuesday, a date
        # alone (17:00); the specialist again: due today, Monday 12:00.
        "A": Plan(lead=Party(user_id=ids["specialist"]),
                  deadline=due_at(date(2026, 3, 3), time(10))),
        "B": Plan(lead=Party(unit_id=world.unit_id), deadline=date(2026, 3, 3)),
        "C": Plan(lead=Party(user_id=ids["specialist"]),
                  deadline=due_at(date(2026, 3, 2), time(12))),
    }  # fmt: skip
    hops: dict[str, int] = {}
    async with res.sessions() as db, db.begin():
        leader = await db.get_one(User, ids["leader"])
        for name, plan in plans.items():
            document = await db.get_one(Document, docs[name])
            hop = await assignments.assign(
                db, clock=clock, actor=Actor(leader), document=document, plan=plan
            )
            hops[name] = hop.id

    async def run(moment: datetime) -> reminders.RunReport:
        clock.set(moment)
        async with res.sessions() as db, db.begin():
            return await reminders.run_due(db, clock=clock, rules=RULES)

    async def overdue(moment: datetime) -> set[str]:
        async with res.sessions() as db:
            found = {h.id for h in await reminders.overdue(db, now=moment)}
        return {name for name, hop in hops.items() if hop in found}

    async def notices(user_id: int) -> list[PushOutbox]:
        async with res.sessions() as db:
            return list(
                await db.scalars(
                    select(PushOutbox)
                    .where(PushOutbox.user_id == user_id, PushOutbox.dedupe_key.is_not(None))
                    .order_by(PushOutbox.id)
                )
            )

    # Overdue is to the minute: C at 12:00 on Monday, A at 10:00 on Tuesday.
    assert await overdue(at(2, 11, 59)) == set()
    assert await overdue(at(2, 12, 1)) == {"C"}
    assert await overdue(at(3, 10, 1)) == {"A", "C"}

    # Tuesday 07:00: the specialist's own digest; the unit head's counts the unit's open work
    # (B given to the unit, A and C held by its specialist). No escalation before Tuesday 12:00.
    assert await run(at(3, 7)) == reminders.RunReport(digests=2, escalations=0)
    [mine] = await notices(ids["specialist"])
    assert mine.payload["body"] == "1 việc đến hạn hôm nay, 1 việc quá hạn."
    [head] = await notices(ids["unit_head"])
    assert head.payload["body"] == "Đơn vị: 2 việc đến hạn hôm nay, 1 việc quá hạn."
    # C is one working day late at 12:00 on Tuesday: the leader is told, once that day.
    assert await run(at(3, 12, 30)) == reminders.RunReport(digests=0, escalations=1)
    assert await run(at(3, 16)) == reminders.RunReport(digests=0, escalations=0)
    [told] = await notices(ids["leader"])
    assert told.payload["title"] == "Quá hạn 1 ngày: Văn bản C"
    assert told.payload["body"] == "Chủ trì: Người specialist — hạn xử lý 12:00 02/03/2026"
    # Wednesday: C again (2 days late); A only from 10:00.
    assert (await run(at(4, 7, 30))).escalations == 1
    assert (await run(at(4, 10, 30))).escalations == 1
    titles = [n.payload["title"] for n in await notices(ids["leader"])]
    assert titles[1:] == ["Quá hạn 2 ngày: Văn bản C", "Quá hạn 1 ngày: Văn bản A"]
    # Saturday is not a working day: nothing.
    assert await run(at(7, 9)) == reminders.RunReport(0, 0)
    # A is completed; on Monday only C (and B, which has nobody personally holding it) remain.
    async with res.sessions() as db, db.begin():
        specialist = await db.get_one(User, ids["specialist"])
        hop_a = await db.get_one(Assignment, hops["A"])
        await assignments.complete(
            db, clock=clock, actor=Actor(specialist), assignment=hop_a, result="Đã trả lời"
        )
    report = await run(at(9, 8))
    assert report.escalations == 1
    last = (await notices(ids["leader"]))[-1]
    assert last.payload["title"] == "Quá hạn 5 ngày: Văn bản C"
    assert last.topic == f"doc{docs['C']}"  # replaces the older notice about C on the device
