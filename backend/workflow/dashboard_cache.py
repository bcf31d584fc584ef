"""The dashboard's figures, kept in Redis between changes.

A year of a large agency is a million rows: aggregating it takes seconds, far too long for a
leader opening the dashboard on an iPad. The figures are computed once and kept under a key per
scope and year, tagged with the day and the agency's generation — a counter that every
registration and every handling step bumps (`changed`, called after the commit). A request that
finds figures of the current generation answers at once. One that finds older figures answers
with them too and starts one recomputation in the background (a Redis lock keeps it to one per
scope across server processes), waiting `WAIT_SECONDS` for it; only a request that finds nothing
computes while it waits. Figures older than `MAX_AGE`, or of another day (overdue work depends
on the day), are refreshed the same way even without a change (documents that arrive through
other paths): the first look of the morning does not wait for a year's aggregation either. The
page shows when its figures were computed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.clock import Clock
from backend.workflow.dashboard import LeaderRow, Numbers, PersonRow, Scope, numbers

MAX_AGE = timedelta(minutes=10)
KEEP_SECONDS = 8 * 24 * 3600
LOCK_SECONDS = 300
# How long a request waits for the refresh it started before answering with the older figures:
# a small agency gets its new figures at once, a large one does not wait for seconds.
WAIT_SECONDS = 0.2
log = logging.getLogger("eoffice")
_running: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class Figures:
    numbers: Numbers
    at: datetime  # when they were computed
    # False: older figures, answered while a refresh runs (the page asks again shortly).
    current: bool


def _generation_key(agency_id: int) -> str:
    return f"dashboard-gen:{agency_id}"


def _key(scope: Scope, start: date, end: date) -> str:
    return f"dashboard:{scope.agency_id}:{scope.unit_id or 0}:{start}:{end}"


async def changed(redis: aioredis.Redis, agency_id: int) -> None:
    """After a commit that may move the agency's figures."""
    try:
        await redis.incr(_generation_key(agency_id))
    except RedisError:
        log.warning("dashboard generation of agency %s not bumped", agency_id, exc_info=True)


def _encode(found: Numbers, *, generation: int, at: datetime, today: date) -> str:
    body = asdict(found)
    body["weeks"] = [(w.isoformat(), r, c) for w, r, c in found.weeks]
    return json.dumps(
        {
            "generation": generation,
            "at": at.isoformat(),
            "today": today.isoformat(),
            "numbers": body,
        }
    )


def _decode(raw: bytes | str) -> tuple[Numbers, tuple[int, str], datetime]:
    entry = json.loads(raw)
    body: dict[str, Any] = entry["numbers"]
    found = Numbers(
        by_status=body["by_status"],
        overdue_by_unit=[tuple(row) for row in body["overdue_by_unit"]],
        overdue_by_person=[tuple(row) for row in body["overdue_by_person"]],
        completed=body["completed"],
        on_time=body["on_time"],
        median_days=body["median_days"],
        p90_days=body["p90_days"],
        weeks=[(date.fromisoformat(w), r, c) for w, r, c in body["weeks"]],
        people=[PersonRow(**row) for row in body["people"]],
        leaders=[LeaderRow(**row) for row in body.get("leaders", [])],
    )
    return found, (int(entry["generation"]), entry["today"]), datetime.fromisoformat(entry["at"])


async def figures(
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    clock: Clock,
    scope: Scope,
    start: date,
    end: date,
    today: date,
) -> Figures:
    """The dashboard's figures, when they were computed, and whether they are current."""
    key = _key(scope, start, end)

    async def compute(generation: int) -> Figures:
        at = clock.now()
        async with sessions() as db:
            found = await numbers(db, scope=scope, start=start, end=end, today=today)
        entry = _encode(found, generation=generation, at=at, today=today)
        await redis.set(key, entry, ex=KEEP_SECONDS)
        return Figures(found, at, current=True)

    try:
        generation = int(await redis.get(_generation_key(scope.agency_id)) or 0)
        raw = await redis.get(key)
    except RedisError:
        log.warning("dashboard cache unavailable", exc_info=True)
        async with sessions() as db:
            found = await numbers(db, scope=scope, start=start, end=end, today=today)
        return Figures(found, clock.now(), current=True)
    if raw is None:
        return await compute(generation)
    found, kept, at = _decode(raw)
    if kept == (generation, today.isoformat()) and clock.now() - at < MAX_AGE:
        return Figures(found, at, current=True)
    try:
        if await redis.set(f"{key}:lock", "1", nx=True, ex=LOCK_SECONDS):
            task = asyncio.create_task(_refresh(compute, redis, key, generation))
            _running.add(task)
            task.add_done_callback(_running.discard)
            done, _ = await asyncio.wait({task}, timeout=WAIT_SECONDS)
            if done and (raw := await redis.get(key)) is not None:
                found, _, at = _decode(raw)
                return Figures(found, at, current=True)
    except RedisError:
        log.warning("dashboard figures not refreshed", exc_info=True)
    return Figures(found, at, current=False)


async def _refresh(
    compute: Callable[[int], Awaitable[object]], redis: aioredis.Redis, key: str, generation: int
) -> None:
    try:
        await compute(generation)
    except Exception:
        log.exception("dashboard figures not refreshed")
    finally:
        with contextlib.suppress(RedisError):  # the lock expires by itself otherwise
            await redis.delete(f"{key}:lock")


async def settle() -> None:
    """Wait for background refreshes (tests, shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
