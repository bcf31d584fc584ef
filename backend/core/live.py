"""Live updates to people's screens: Server-Sent Events fed by Redis, on any server process.

API:
    await publish(redis, user_id, event, data)
        Send `event` (a short name such as "signing") with JSON-able `data` to every open tab of
        `user_id`, whichever server process holds the connection. The event is appended to a
        short per-user Redis stream (the last `KEEP` events, for `Last-Event-ID` replay) and
        announced on the Redis pub/sub channel `live:<user_id>`. Returns the event id.

    stream(redis, user_id, last_event_id=..., heartbeat=..., is_disconnected=...)
        An async iterator of SSE-formatted bytes for one connection: first the events after
        `last_event_id` (the browser sends it back on reconnect), then live events as they are
        published, with a comment line every `heartbeat` seconds to keep proxies from closing
        the connection. `backend.web.views.live.live_events` serves it at `/live`.

    await announce_document(redis, user_ids, document_id, kind)
        After a commit that changes what document lists show (registered, assigned, returned,
        completed, signed, issued…): one `DOCUMENT_EVENT` to each person concerned. Document
        lists refresh on it (pwa/static/livelist.js). Redis trouble is logged, never raised:
        the change is committed and screens catch up on their next load.

The browser side: an `EventSource` on the page's `url_for("live")` and
`addEventListener(<event>, ...)`; htmx's SSE extension works as well. Events are hints for the
screen ("this changed"), never the record: the record is SQL, and a screen that missed events
reloads what it shows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

KEEP = 100
HEARTBEAT_SECONDS = 15.0
SINCE_MARGIN_MS = 5_000
# The one event document lists listen to; `kind` in its data says what happened.
DOCUMENT_EVENT = "document"
DOCUMENT_KINDS = frozenset(
    {
        "registered",
        "assigned",
        "reassigned",
        "progress",
        "input",
        "returned",
        "completed",
        "signed",
        "issued",
        "changed",
    }
)

log = logging.getLogger("eoffice")


def channel(user_id: int) -> str:
    return f"live:{user_id}"


def _stream_key(user_id: int) -> str:
    return f"live-stream:{user_id}"


def _frame(event_id: str, event: str, data: str) -> bytes:
    lines = [f"id: {event_id}", f"event: {event}"]
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return ("\n".join(lines) + "\n\n").encode()


async def publish(redis: aioredis.Redis, user_id: int, event: str, data: dict[str, object]) -> str:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # One round trip: append to the replay stream and refresh its lifetime.
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xadd(
            _stream_key(user_id), {"event": event, "data": payload}, maxlen=KEEP, approximate=True
        )
        pipe.expire(_stream_key(user_id), 3600)
        raw_id, _ = await pipe.execute()
    event_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
    await redis.publish(
        channel(user_id), json.dumps({"id": event_id, "event": event, "data": payload})
    )
    return event_id


async def announce_document(
    redis: aioredis.Redis, user_ids: Iterable[int], document_id: int, kind: str
) -> None:
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document event kind {kind!r}")
    data: dict[str, object] = {"document": document_id, "kind": kind}
    try:
        for user_id in sorted(set(user_ids)):
            await publish(redis, user_id, DOCUMENT_EVENT, data)
    except RedisError:
        log.warning("live: %s of document %s not announced", kind, document_id, exc_info=True)


def _after(a: str, b: str) -> bool:
    """Is stream id `a` later than `b`?"""
    pa, pb = (tuple(int(x) for x in s.split("-")) for s in (a, b))
    return pa > pb


def since_now(now_ms: int) -> str:
    """The ``since`` a page rendered at ``now_ms`` (Unix ms) asks its stream to replay from.

    Events published between the page's render and its stream's opening would otherwise be
    lost to it (the stream only carries what is published while it is open). A margin covers
    a Redis whose clock runs behind the app server's; replaying a few seconds twice is
    harmless, since every live handler re-reads the state it shows.
    """
    return f"{max(0, now_ms - SINCE_MARGIN_MS)}-0"


async def stream(
    redis: aioredis.Redis,
    user_id: int,
    *,
    last_event_id: str = "",
    since: str = "",
    heartbeat: float = HEARTBEAT_SECONDS,
    is_disconnected: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[bytes]:
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel(user_id))
    try:
        yield b"retry: 3000\n\n"
        # A reconnecting stream goes on after its last event; a new one from its page's render.
        last = last_event_id if _valid_id(last_event_id) else (since if _valid_id(since) else "")
        if last:
            entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(
                _stream_key(user_id), min=f"({last}"
            )  # type: ignore[assignment]
            for raw_id, fields in entries:
                event_id = raw_id.decode()
                yield _frame(event_id, fields[b"event"].decode(), fields[b"data"].decode())
                last = event_id
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=heartbeat)
            if is_disconnected is not None and await is_disconnected():
                return
            if message is None:
                yield b": ping\n\n"
                continue
            body = json.loads(message["data"])
            if last and not _after(body["id"], last):
                continue  # already sent during the replay
            last = body["id"]
            yield _frame(body["id"], body["event"], body["data"])
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]


def _valid_id(value: str) -> bool:
    parts = value.split("-")
    return len(parts) == 2 and all(p.isdigit() for p in parts)
