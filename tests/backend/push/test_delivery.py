"""Web Push end to end, honestly: the app's outbox, relay, Redis stream and worker send with
pywebpush to a real local push service, which verifies the VAPID JWT and decrypts the payload
with the keys of a device the test made."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backend.core.clock import FixedClock
from backend.core.jobs import Job, Periodic, Runner
from backend.core.models import User
from backend.push.tables import PushOutbox, PushSubscription
from backend.runtime import background
from backend.workflow import reminders
from backend.workflow.deadlines import Calendar
from tests.backend.identity.conftest import World, resources_of, sign_in_as
from tests.backend.workflow.helpers import registered
from tests.conftest import RedisServer
from tests.support.lifespan import LifespanManager
from tests.support.push_service import PushService

pytestmark = pytest.mark.anyio


async def subscribe(
    app: LifespanManager, client: httpx.AsyncClient, service: PushService, user_id: int, name: str
) -> None:
    client.cookies.clear()
    await sign_in_as(app, client, user_id)
    device = service.device(name)
    response = await client.post("/push/subscribe", json=device.subscription(service.base))
    assert response.status_code == 201, response.text


async def outbox(app: LifespanManager) -> list[PushOutbox]:
    async with resources_of(app).sessions() as db:
        return list(await db.scalars(select(PushOutbox).order_by(PushOutbox.id)))


async def settled(app: LifespanManager, *, seconds: float = 10.0) -> list[PushOutbox]:
    async with asyncio.timeout(seconds):
        while True:
            rows = await outbox(app)
            if all(
                r.delivered_at or r.dead_at or (r.relayed_at is None and r.attempts) for r in rows
            ):
                return rows
            await asyncio.sleep(0.05)


async def test_assignment_reaches_the_device_decrypted_with_urgency_topic_and_ttl(
    app: LifespanManager, client: httpx.AsyncClient, world: World, service: PushService
) -> None:
    ids = world.user_ids
    await subscribe(app, client, service, ids["specialist"], "specialist-iphone")
    doc = await registered(app, world.agency_id, subject="Về việc ứng phó bão số 3", urgency=3)
    client.cookies.clear()
    await sign_in_as(app, client, ids["leader"])
    response = await client.post(
        f"/documents/{doc}/assign",
        data={"lead": f"u:{ids['specialist']}", "deadline": "2026-03-02"},
    )
    assert response.status_code == 303
    [got] = await service.wait_for(1)
    row = (await outbox(app))[0]
    assert got.device == "specialist-iphone"
    assert got.payload == {
        "id": row.id,
        "title": "Văn bản Hỏa tốc: Về việc ứng phó bão số 3",
        "body": "Chủ trì — hạn xử lý 17:00 02/03/2026",
        "url": f"/documents/{doc}",
        "tag": f"doc{doc}",
    }
    assert got.headers["urgency"] == "high"
    assert got.headers["ttl"] == "3600"
    assert got.headers["topic"] == f"doc{doc}"
    assert service.refusals == []
    [row] = await settled(app)
    assert row.delivered_at is not None


async def test_gone_subscriptions_are_deleted_and_failures_retry_then_dead_letter(
    app: LifespanManager,
    client: httpx.AsyncClient,
    world: World,
    service: PushService,
    clock: FixedClock,
) -> None:
    ids = world.user_ids
    res = resources_of(app)
    await subscribe(app, client, service, ids["specialist"], "old-phone")
    await subscribe(app, client, service, ids["specialist"], "new-phone")
    await subscribe(app, client, service, ids["unit_head"], "broken")
    service.answer["old-phone"] = 410
    service.answer["broken"] = 500
    doc = await registered(app, world.agency_id)
    client.cookies.clear()
    await sign_in_as(app, client, ids["leader"])
    await client.post(
        f"/documents/{doc}/assign",
        data={
            "lead": f"u:{ids['specialist']}",
            "cooperate": [f"u:{ids['unit_head']}"],
            "deadline": "2026-03-06",
        },
    )
    await service.wait_for(1)
    rows = await settled(app)
    async with res.sessions() as db:
        left = list(await db.scalars(select(PushSubscription.endpoint)))
    assert not any(e.endswith("/old-phone") for e in left)  # 410: deleted
    assert any(e.endswith("/new-phone") for e in left)
    to_specialist = next(r for r in rows if r.user_id == ids["specialist"])
    assert to_specialist.delivered_at is not None
    failing = next(r for r in rows if r.user_id == ids["unit_head"])
    assert (failing.attempts, failing.dead_at) == (1, None)
    retry_at = (clock.now() + timedelta(seconds=60)).replace(tzinfo=None)  # then 120 s
    assert failing.not_before.replace(tzinfo=None) == retry_at
    # Nothing happens before the retry is due; after it, the second failure dead-letters it.
    clock.advance(timedelta(seconds=61))
    await res.push.after_commit()
    async with asyncio.timeout(10):
        while True:
            row = next(r for r in await outbox(app) if r.id == failing.id)
            if row.dead_at is not None:
                break
            await asyncio.sleep(0.05)
    assert row.attempts == 2
    assert "HTTP 500" in row.last_error
    # The administrator sees it and can send it again once the push service is back.
    client.cookies.clear()
    await sign_in_as(app, client, ids["admin"])
    page = BeautifulSoup((await client.get("/admin/push")).text, "html.parser")
    assert "Về việc triển khai Đề án 06" in page.select_one("table").get_text()
    service.answer["broken"] = 201
    assert (await client.post(f"/admin/push/{row.id}/retry")).status_code == 303
    received = await service.wait_for(2)
    assert {r.device for r in received} == {"new-phone", "broken"}


async def test_reminder_and_escalation_reach_the_devices(
    app: LifespanManager,
    client: httpx.AsyncClient,
    world: World,
    service: PushService,
    clock: FixedClock,
) -> None:
    ids = world.user_ids
    res = resources_of(app)
    await subscribe(app, client, service, ids["specialist"], "specialist-phone")
    await subscribe(app, client, service, ids["leader"], "leader-ipad")
    doc = await registered(app, world.agency_id, subject="Báo cáo tình hình kinh tế quý I")
    client.cookies.clear()
    await sign_in_as(app, client, ids["leader"])
    await client.post(
        f"/documents/{doc}/assign",
        data={"lead": f"u:{ids['specialist']}", "deadline": "2026-03-03"},
    )
    await service.wait_for(1)
    rules = reminders.rules_from(res.settings)
    assert rules.calendar == Calendar(frozenset({date(2026, 3, 5)}))
    # Two processes' job runners, each scheduling the reminders job every period.
    runners = [
        Runner(sessions=res.sessions, registry=background.registry(), context=res, clock=clock,
               schedule=[Periodic(reminders.REMINDERS_JOB, every=reminders.EVERY)], name=name)
        for name in ("a", "b")
    ]  # fmt: skip

    async def tick() -> int:
        """Both runners' turn: they enqueue this minute's reminders job (once between them), and
        one of them or the app's runner runs it. Returns how many reminders jobs there are."""
        for runner in runners:
            await runner.run_once()
        async with asyncio.timeout(10):
            while True:
                async with res.sessions() as db:
                    runs = list(
                        await db.scalars(select(Job).where(Job.kind == reminders.REMINDERS_JOB))
                    )
                if all(job.status == "done" for job in runs):
                    await res.push.after_commit()
                    return len(runs)
                await asyncio.sleep(0.05)

    async def again() -> reminders.RunReport:
        async with res.sessions() as db, db.begin():
            return await reminders.run_due(db, clock=clock, rules=rules)

    # Tuesday 3 March, 07:05: due today. One job ran, in one of the processes.
    clock.set(datetime(2026, 3, 3, 0, 5, tzinfo=UTC))
    assert await tick() == 1
    assert await tick() == 1  # the same minute: nothing more
    # The specialist's digest, and their unit head's (the unit's open work; no device here),
    # were sent once: a later run the same day adds nothing.
    assert await again() == reminders.RunReport(digests=0, escalations=0)
    got = await service.wait_for(2)
    assert got[1].payload["title"] == "Việc cần xử lý ngày 03/03"
    assert got[1].payload["body"] == "1 việc đến hạn hôm nay."
    # Thursday 5 March is a holiday: no digest, no escalation.
    clock.set(datetime(2026, 3, 5, 1, 0, tzinfo=UTC))
    assert await again() == reminders.RunReport(0, 0)
    # Friday 6 March: overdue by 2 working days (4 and 6 March) ≥ margin 1 → the leader is told.
    clock.set(datetime(2026, 3, 6, 1, 0, tzinfo=UTC))
    assert await tick() == 2  # one job per period, not per runner
    got = await service.wait_for(4)
    by_device = {r.device: r.payload for r in got[2:]}
    assert by_device["specialist-phone"]["body"] == "1 việc quá hạn."
    assert by_device["leader-ipad"]["title"] == "Quá hạn 2 ngày: Báo cáo tình hình kinh tế quý I"
    assert by_device["leader-ipad"]["body"] == (
        "Chủ trì: Người specialist — hạn xử lý 17:00 03/03/2026"
    )
    assert by_device["leader-ipad"]["url"] == f"/documents/{doc}"
    assert service.refusals == []


async def test_nothing_is_lost_when_redis_restarts(
    app: LifespanManager,
    client: httpx.AsyncClient,
    world: World,
    service: PushService,
    clock: FixedClock,
    redis_server: RedisServer,
) -> None:
    res = resources_of(app)
    await subscribe(app, client, service, world.user_ids["specialist"], "phone")
    async with res.sessions() as db:
        specialist = await db.get_one(User, world.user_ids["specialist"])
    # Relayed to the stream, then Redis restarts (no persistence) before a worker reads it.
    await res.push.stop()
    from backend.push import outbox as push_outbox
    from backend.push import payloads

    async with res.sessions() as db, db.begin():
        await push_outbox.enqueue(
            db, clock=clock, user_id=specialist.id, notice=payloads.test_notice()
        )
    assert await res.push.relay_now() == 1
    redis_server.stop()
    redis_server.start()
    res.push.start()
    await asyncio.sleep(0.3)
    assert service.received == []  # the stream is gone…
    clock.advance(res.push.redeliver_after + timedelta(seconds=1))
    await res.push.after_commit()
    [got] = await service.wait_for(1)  # …the outbox row replays it
    assert got.payload["title"] == "Thông báo thử"
