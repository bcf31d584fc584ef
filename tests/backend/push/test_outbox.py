"""The outbox's writers: one notice, or several at once, each key used once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.core.events import Bus, unit_of_work
from backend.push import outbox, payloads
from backend.push.events import NoticeQueued
from backend.push.tables import PushOutbox
from tests.backend.identity.conftest import World, resources_of
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def test_enqueue_many_adds_each_key_once_and_as_enqueue_would(
    app: LifespanManager, world: World
) -> None:
    res = resources_of(app)
    leader, clerk = world.user_ids["leader"], world.user_ids["clerk"]
    notice = payloads.signed(document_id=7, subject="Kế hoạch", urgency=1, signer_name="Lãnh đạo")
    bus, heard = Bus(), []

    async def queued(event: NoticeQueued) -> None:
        heard.append(event)

    bus.subscribe(NoticeQueued, queued)
    async with unit_of_work(res.sessions, bus) as db:
        one = await outbox.enqueue(
            db, clock=res.clock, user_id=leader, notice=notice, dedupe_key="signed:1:leader"
        )
        many = await outbox.enqueue_many(
            db,
            clock=res.clock,
            notices=[
                (leader, notice, "signed:1:leader"),  # used by `enqueue` just now
                (clerk, notice, "signed:1:clerk"),
                (clerk, notice, "signed:1:clerk"),  # twice in one call
            ],
        )
        none = await outbox.enqueue_many(
            db, clock=res.clock, notices=[(clerk, notice, "signed:1:clerk")]
        )
    assert one is not None and [r.dedupe_key for r in many] == ["signed:1:clerk"]
    assert none == []
    assert heard == [NoticeQueued()]  # the relay is woken after the commit
    async with res.sessions() as db:
        rows = {r.dedupe_key: r for r in await db.scalars(select(PushOutbox))}
    assert set(rows) == {"signed:1:leader", "signed:1:clerk"}
    made, single = rows["signed:1:clerk"], rows["signed:1:leader"]
    assert made.user_id == clerk
    for field in ("payload", "urgency", "ttl", "topic", "attempts", "delivered_to", "created_at"):
        assert getattr(made, field) == getattr(single, field), field
