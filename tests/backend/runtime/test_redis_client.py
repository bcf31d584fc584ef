"""The app's Redis client: open pages' live streams (one pub/sub connection each, held while
the page is open) must not take the connections every request needs for its session."""

from __future__ import annotations

import pytest

from backend.core import live
from backend.runtime.resources import redis_client

pytestmark = pytest.mark.anyio

OPEN_PAGES = 150  # more than redis-py's default pool (100)


async def test_many_open_live_streams_leave_redis_to_the_requests(redis_url: str) -> None:
    client = redis_client(redis_url)
    streams = [live.stream(client, user_id, heartbeat=5) for user_id in range(OPEN_PAGES)]
    try:
        for frames in streams:
            assert await anext(frames) == b"retry: 3000\n\n"  # subscribed, and held
        # What a request does next, e.g. its session lookup.
        await client.set("eoffice:test:pool", b"1")
        assert await client.get("eoffice:test:pool") == b"1"
    finally:
        for frames in streams:
            await frames.aclose()
        await client.delete("eoffice:test:pool")
        await client.aclose()
