"""Stream → push services. Reads the stream with a consumer group, sends each notice to every
device of its person with pywebpush, records the outcome on the outbox row.

Outcomes per device: 201 → done; 404/410 → the subscription is gone (deleted); anything else →
the row is retried with exponential backoff (through the relay) and dead-lettered after
`max_attempts`. A send repeated after a crash carries the same `id`, which the service worker
uses to show it only once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import redis.asyncio as aioredis
from pywebpush import WebPusher  # type: ignore[import-untyped]
from redis.exceptions import ResponseError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import events
from backend.core.clock import Clock
from backend.core.errors import NotFoundError
from backend.core.models import User
from backend.core.settings import Settings
from backend.core.urls import Page, UrlFor
from backend.push.events import NoticeQueued
from backend.push.relay import GROUP, STREAM
from backend.push.tables import PushOutbox, PushSubscription
from backend.push.vapid import VapidKeys

log = logging.getLogger("eoffice.push")
GONE = {404, 410}
# A VAPID JWT may live up to 24 h; sign one per push-service origin and reuse it for an hour.
JWT_LIFETIME = 12 * 3600
JWT_REUSE = 3600


@dataclass
class Policy:
    max_attempts: int = 5
    retry_base: timedelta = timedelta(seconds=30)
    # A worker that held a message this long without acknowledging it is presumed dead.
    claim_idle_ms: int = 30_000
    send_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            max_attempts=settings.push_max_attempts,
            retry_base=timedelta(seconds=settings.push_retry_seconds),
            claim_idle_ms=settings.push_claim_seconds * 1000,
        )


@dataclass
class _Signed:
    headers: dict[str, str]
    until: float


@dataclass
class Worker:
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    clock: Clock
    keys: VapidKeys
    consumer: str
    # Route name and parameters → path (the app's routes): the page a notice opens.
    urls: UrlFor
    policy: Policy = field(default_factory=Policy)
    _http: aiohttp.ClientSession | None = None
    _signed: dict[str, _Signed] = field(default_factory=dict)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200),
                timeout=aiohttp.ClientTimeout(total=self.policy.send_timeout),
            )
        return self._http

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        aud = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._signed.get(aud)
        if cached is None or cached.until < now:
            claims = {"sub": self.keys.contact, "aud": aud, "exp": int(now) + JWT_LIFETIME}
            headers = {str(k): str(v) for k, v in self.keys.vapid.sign(claims).items()}
            cached = self._signed[aud] = _Signed(headers, now + JWT_REUSE)
        return dict(cached.headers)

    def message(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """What the service worker gets: the stored notice, its page made a path (`url`)."""
        message = {key: value for key, value in payload.items() if key != "page"}
        if "page" in payload:
            message["url"] = Page.from_json(payload["page"]).path(self.urls)
        return message

    async def send(self, sub: PushSubscription, row: PushOutbox) -> int:
        """One encrypted POST to the device's push service; returns the HTTP status."""
        data = json.dumps({"id": row.id, **self.message(row.payload)}, ensure_ascii=False)
        headers: dict[str, Any] = self._vapid_headers(sub.endpoint)
        headers["Urgency"] = row.urgency
        if row.topic:
            headers["Topic"] = row.topic
        info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        pusher = WebPusher(info, aiohttp_session=self._session())
        response = await pusher.send_async(
            data,
            headers,
            ttl=row.ttl,
            content_encoding="aes128gcm",
            timeout=aiohttp.ClientTimeout(total=self.policy.send_timeout),
        )
        status: int = response.status
        return status

    async def run_once(self, *, block_ms: int = 1000, count: int = 200) -> int:
        """Read one batch (claiming what dead consumers left first) and handle it: one read of
        the rows, every send at once, one transaction for the outcomes."""
        reply: Any = await self.redis.xautoclaim(
            STREAM, GROUP, self.consumer, min_idle_time=self.policy.claim_idle_ms, count=count
        )
        # [next id, claimed entries, deleted ids]; a deleted entry comes back as (id, None).
        entries: list[tuple[bytes, dict[bytes, bytes]]] = [
            (eid, fields) for eid, fields in reply[1] if fields
        ]
        if not entries:
            found: Any = await self.redis.xreadgroup(
                GROUP, self.consumer, {STREAM: ">"}, count=count, block=block_ms
            )
            entries = [entry for _, batch in found for entry in batch]
        if entries:
            await self._handle(entries)
        return len(entries)

    async def _handle(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        by_row: dict[int, list[bytes]] = defaultdict(list)
        for entry_id, fields in entries:
            by_row[int(fields[b"id"])].append(entry_id)
        # Two relays may have put the same row on the stream: one sender at a time per row. The
        # lock lasts as long as a claim, so a dead holder's lock is gone when its entries are
        # claimed; another live holder's entry stays pending and comes back by claim.
        async with self.redis.pipeline(transaction=False) as pipe:
            for oid in by_row:
                pipe.set(f"push:lock:{oid}", self.consumer, nx=True, px=self.policy.claim_idle_ms)
            got = await pipe.execute()
        mine = [oid for oid, ok in zip(by_row, got, strict=True) if ok]
        try:
            if mine:
                await self._deliver(mine)
        finally:
            if mine:
                await self.redis.delete(*(f"push:lock:{oid}" for oid in mine))
        done = [eid for oid in mine for eid in by_row[oid]]
        if done:
            await self.redis.xack(STREAM, GROUP, *done)

    async def _deliver(self, oids: list[int]) -> None:
        async with self.sessions() as db:
            rows = list(
                await db.scalars(
                    select(PushOutbox).where(
                        PushOutbox.id.in_(oids),
                        PushOutbox.delivered_at.is_(None),
                        PushOutbox.dead_at.is_(None),
                    )
                )
            )
            people = {r.user_id for r in rows}
            subs: Sequence[PushSubscription] = list(
                await db.scalars(
                    select(PushSubscription).where(PushSubscription.user_id.in_(people))
                )
            )
        # Nothing of the database is held while the push services answer.
        work = [
            (row, sub)
            for row in rows
            for sub in subs
            if sub.user_id == row.user_id and sub.id not in row.delivered_to
        ]
        results = await asyncio.gather(
            *(self.send(sub, row) for row, sub in work), return_exceptions=True
        )
        outcomes = {row.id: _Outcome(set(row.delivered_to)) for row in rows}
        for (row, sub), result in zip(work, results, strict=True):
            outcome = outcomes[row.id]
            if isinstance(result, BaseException):
                outcome.errors.append(f"{sub.id}: {type(result).__name__}: {result}"[:300])
            elif result in GONE:
                outcome.gone.append(sub.id)
            elif 200 <= result < 300:
                outcome.done.add(sub.id)
            else:
                outcome.errors.append(f"{sub.id}: HTTP {result}")
        if outcomes:
            await self._record(outcomes)

    async def _record(self, outcomes: dict[int, _Outcome]) -> None:
        now = self.clock.now()
        async with self.sessions() as db, db.begin():
            gone = [sid for o in outcomes.values() for sid in o.gone]
            if gone:
                await db.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
            served = {sid for o in outcomes.values() for sid in o.done}
            if served:
                await db.execute(
                    update(PushSubscription)
                    .where(PushSubscription.id.in_(served))
                    .values(last_sent_at=now)
                )
            for oid, outcome in outcomes.items():
                row = await db.get_one(PushOutbox, oid)
                row.delivered_to = sorted(outcome.done)
                if not outcome.errors:
                    row.delivered_at = now
                    continue
                row.attempts += 1
                row.last_error = "; ".join(outcome.errors)[:2000]
                if row.attempts >= self.policy.max_attempts:
                    row.dead_at = now
                    log.warning(
                        "push notice %s dead after %s attempts: %s",
                        oid,
                        row.attempts,
                        row.last_error,
                    )
                else:
                    row.not_before = now + self.policy.retry_base * 2 ** (row.attempts - 1)
                    row.relayed_at = None


@dataclass
class _Outcome:
    done: set[int]
    gone: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def dead_letters(
    db: AsyncSession, *, agency_id: int, limit: int = 200
) -> Sequence[PushOutbox]:
    return list(
        await db.scalars(
            select(PushOutbox)
            .join(User, User.id == PushOutbox.user_id)
            .where(PushOutbox.dead_at.is_not(None), User.agency_id == agency_id)
            .order_by(PushOutbox.dead_at.desc())
            .limit(limit)
        )
    )


async def retry_dead(db: AsyncSession, *, clock: Clock, outbox_id: int, agency_id: int) -> None:
    row = await db.get(PushOutbox, outbox_id)
    owner = await db.get(User, row.user_id) if row is not None else None
    if row is None or row.dead_at is None or owner is None or owner.agency_id != agency_id:
        raise NotFoundError("Không tìm thấy thông báo.", "No such notice.")
    row.dead_at, row.attempts, row.relayed_at, row.not_before = None, 0, None, clock.now()
    events.record(db, NoticeQueued())
