"""Typed domain events: recorded in a transaction, dispatched after its COMMIT, never after a
rollback; one place subscribes every event the domains record."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import Router

from backend.core import db as db_mod
from backend.core import events
from backend.core.clock import SystemClock
from backend.core.events import Bus, Event, unit_of_work
from backend.core.models import Agency
from backend.push.runtime import PushRuntime
from backend.push.vapid import load_or_create
from backend.push.worker import Policy
from backend.runtime import subscribers
from backend.web import routes
from backend.web.urls import paths
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Happened(Event):
    agency_code: str


@dataclass(frozen=True)
class AlsoHappened(Happened):
    pass


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db_mod.create_engine(database_url)
    yield db_mod.sessionmaker(engine)
    await engine.dispose()


def _agency(code: str) -> Agency:
    return Agency(
        code=code,
        name=f"Cơ quan {code}",
        short_name="CQ",
        level=1,
        created_at=SystemClock().now(),
    )


async def test_an_event_is_dispatched_after_commit_and_sees_the_committed_state(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[tuple[Happened, int]] = []

    async def subscriber(event: Happened) -> None:
        # Another session: it only sees the row if the transaction has committed.
        async with sessions() as other:
            count = await other.scalar(
                select(func.count()).select_from(Agency).where(Agency.code == event.agency_code)
            )
        seen.append((event, int(count or 0)))

    bus = Bus()
    bus.subscribe(Happened, subscriber)
    async with unit_of_work(sessions, bus) as db:
        db.add(_agency("000.00.01.H90"))
        events.record(db, Happened("000.00.01.H90"))
        await db.flush()
        assert seen == []  # recorded, not sent, while the transaction is open
    assert seen == [(Happened("000.00.01.H90"), 1)]


async def test_an_event_whose_transaction_rolls_back_is_never_seen(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[Event] = []

    async def subscriber(event: Happened) -> None:
        seen.append(event)

    bus = Bus()
    bus.subscribe(Happened, subscriber)
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions, bus) as db:
            db.add(_agency("000.00.01.H91"))
            events.record(db, Happened("000.00.01.H91"))
            await db.flush()
            raise RuntimeError("the handler failed after recording")
    assert seen == []
    async with sessions() as db:
        assert await db.scalar(select(Agency).where(Agency.code == "000.00.01.H91")) is None


async def test_a_failing_subscriber_is_logged_and_the_others_still_run(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def broken(event: Happened) -> None:
        raise ConnectionError("redis is down")

    async def fine(event: Happened) -> None:
        seen.append(event.agency_code)

    bus = Bus()
    bus.subscribe(Happened, broken)
    bus.subscribe(Happened, fine)
    async with unit_of_work(sessions, bus) as db:
        db.add(_agency("000.00.01.H92"))
        events.record(db, Happened("000.00.01.H92"))
    assert seen == ["000.00.01.H92"]
    assert "redis is down" in caplog.text
    async with sessions() as db:  # the change stands
        assert await db.scalar(select(Agency).where(Agency.code == "000.00.01.H92")) is not None


async def test_the_same_event_twice_in_one_transaction_is_dispatched_once_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[Event] = []

    async def subscriber(event: Happened) -> None:
        seen.append(event)

    bus = Bus()
    bus.subscribe(Happened, subscriber)  # a subclass's events reach it too
    async with unit_of_work(sessions, bus) as db:
        for code in ("A", "B", "A"):
            events.record(db, Happened(code))
        events.record(db, AlsoHappened("C"))
    assert seen == [Happened("A"), Happened("B"), AlsoHappened("C")]


def _event_classes() -> set[str]:
    """Every Event subclass the backend's domains define (in their events.py)."""
    names = set()
    for path in (ROOT / "backend").rglob("events.py"):
        if path.parent.name == "core":
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id == "Event" for b in node.bases
            ):
                names.add(node.name)
    return names


async def test_every_domain_event_has_a_subscriber(
    tmp_path: Path, sqlite_url: str, redis_url: str
) -> None:
    engine = db_mod.create_engine(sqlite_url)
    sessions = db_mod.sessionmaker(engine)
    redis = aioredis.Redis.from_url(redis_url)
    push = PushRuntime(
        sessions=sessions,
        redis=redis,
        clock=SystemClock(),
        keys=load_or_create(tmp_path, contact="mailto:vanthu@example.gov.vn"),
        urls=paths(Router(routes.build(make_settings(tmp_path, sqlite_url, redis_url)))),
        policy=Policy(),
        run_worker=False,
    )
    bus = subscribers.wire(Bus(), sessions=sessions, redis=redis, push=push, clock=SystemClock())
    await redis.aclose()
    await engine.dispose()
    defined = _event_classes()
    assert defined, "no domain events found: the scan is broken"
    assert defined <= {kind.__name__ for kind in bus.kinds()}, defined - {
        kind.__name__ for kind in bus.kinds()
    }
