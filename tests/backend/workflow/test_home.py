"""Today's work on the home page, per role: what is counted, how it is grouped and ordered."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from backend.core.clock import FixedClock
from backend.core.models import User
from backend.documents.tables import Document
from backend.identity.policy import principal_of
from backend.workflow import assignments, home
from backend.workflow.assignments import Actor, Party, Plan
from tests.backend.identity.conftest import World, resources_of
from tests.backend.workflow.helpers import registered
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def sections(app: LifespanManager, user_id: int) -> dict[str, home.Section]:
    res = resources_of(app)
    async with res.sessions() as db:
        user = await db.get_one(User, user_id)
        found = await home.today(db, user=user, principal=principal_of(user), now=res.clock.now())
    return {s.key: s for s in found.sections}


async def test_a_specialists_work_by_deadline_and_a_leaders_overdue_units(
    app: LifespanManager, world: World, clock: FixedClock
) -> None:
    """Monday 2 March 2026: one hop overdue, one due today, one this week, one next week."""
    ids, res = world.user_ids, resources_of(app)
    due = {
        "quá hạn": datetime(2026, 3, 1, 10, 0, tzinfo=clock.now().tzinfo),
        "hôm nay": date(2026, 3, 2),
        "tuần này": date(2026, 3, 6),
        "tuần sau": date(2026, 3, 10),
    }
    made = {}
    for label, deadline in due.items():
        document_id = await registered(app, world.agency_id, subject=f"Việc {label}",
                                       urgency=3 if label == "tuần sau" else 0)  # fmt: skip
        async with res.sessions() as db, db.begin():
            leader = await db.get_one(User, ids["leader"])
            if label == "quá hạn":
                clock.set(datetime(2026, 2, 20, 2, 0, tzinfo=clock.now().tzinfo))
            await assignments.assign(
                db, clock=clock, actor=Actor(leader, device="test"),
                document=await db.get_one(Document, document_id),
                plan=Plan(lead=Party(user_id=ids["specialist"]), deadline=deadline),
            )  # fmt: skip
            clock.set(datetime(2026, 3, 2, 1, 30, tzinfo=clock.now().tzinfo))
        made[label] = document_id

    work = (await sections(app, ids["specialist"]))["my-work"]
    assert work.count == 4
    assert work.figures == [("Quá hạn", "Overdue", 1), ("Hôm nay", "Today", 1),
                            ("Tuần này", "This week", 1)]  # fmt: skip
    assert work.alarm
    # Soonest deadline first, three of them one tap away.
    assert [i.subject for i in work.items] == ["Việc quá hạn", "Việc hôm nay", "Việc tuần này"]
    assert work.items[0].page.name == "document"

    leader = await sections(app, ids["leader"])
    overdue = leader["overdue-units"]
    assert overdue.count == 1 and overdue.alarm
    # Nothing routed is left waiting for the leader; nothing to sign.
    assert leader["to-sign"].count == 0 and leader["direction"].count == 0
    # A clerk sees no handling sections, a specialist no leader's.
    assert set(await sections(app, ids["clerk"])) == {"to-issue", "from-axis"}
    assert "overdue-units" not in await sections(app, ids["specialist"])
    # The next morning, what was due yesterday is overdue.
    clock.advance(timedelta(days=1))
    work = (await sections(app, ids["specialist"]))["my-work"]
    assert work.figures[0] == ("Quá hạn", "Overdue", 2)
