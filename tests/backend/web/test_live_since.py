"""A page's live stream starts where the page was rendered: what was published between the
render and the stream's opening still reaches it (it used to be lost, and tests had to wait for
the connection before acting)."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis

from backend.core import live

pytestmark = pytest.mark.anyio


async def test_an_event_between_render_and_connect_is_delivered(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        since = live.since_now(int(time.time() * 1000))  # the page is rendered
        await live.publish(client, 7, "count", {"n": 1})  # something happens meanwhile
        frames = live.stream(client, 7, since=since, heartbeat=0.2)
        assert await anext(frames) == b"retry: 3000\n\n"
        replayed = await anext(frames)
        assert b"event: count" in replayed and b'"n":1' in replayed
        # Without it (what the stream did before), the event is gone: only a heartbeat.
        plain = live.stream(client, 7, heartbeat=0.2)
        assert await anext(plain) == b"retry: 3000\n\n"
        assert await anext(plain) == b": ping\n\n"
        await frames.aclose()
        await plain.aclose()
    finally:
        await client.aclose()


def test_since_is_a_stream_id_a_little_before_the_render() -> None:
    assert live.since_now(1_000_000) == f"{1_000_000 - live.SINCE_MARGIN_MS}-0"
    assert live.since_now(10) == "0-0"
