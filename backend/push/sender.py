"""Sending a notice: one job per outbox row (`SEND_JOB`), run by the jobs runtime.

The job sends the notice to every device of its person with pywebpush and records the outcome
on the row. Per device: 201 → served (kept in `delivered_to`, so a retry sends only to the
rest); 404/410 → the subscription is gone (deleted); anything else → the job fails and the jobs
runtime retries it with backoff; the attempt `EOFFICE_PUSH_MAX_ATTEMPTS` dead-letters the row
(`dead_at`, shown at /admin/push). A send repeated after a crash carries the same `id`, which
the service worker uses to show it only once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from pywebpush import WebPusher  # type: ignore[import-untyped]
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import jobs
from backend.core.clock import Clock
from backend.core.urls import Page, UrlFor
from backend.push.tables import PushOutbox, PushSubscription
from backend.push.vapid import VapidKeys

__all__ = ["SEND_JOB", "DeliveryError", "PushContext", "Sender", "send_job"]

log = logging.getLogger("eoffice.push")
GONE = {404, 410}
# A VAPID JWT may live up to 24 h; sign one per push-service origin and reuse it for an hour.
JWT_LIFETIME = 12 * 3600
JWT_REUSE = 3600
# The job that sends one outbox row: {"notice": id}.
SEND_JOB = "push.send"


class DeliveryError(Exception):
    """Some device's push service did not take the notice: the job is retried."""


@dataclass
class _Signed:
    headers: dict[str, str]
    until: float


@dataclass
class _Outcome:
    done: set[int]
    gone: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Sender:
    """The process's push sender: its VAPID keys, one HTTP connection pool, the signed VAPID
    headers per push service."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    keys: VapidKeys
    # Route name and parameters → path (the app's routes): the page a notice opens.
    urls: UrlFor
    send_timeout: float = 10.0
    _http: aiohttp.ClientSession | None = None
    _signed: dict[str, _Signed] = field(default_factory=dict)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200),
                timeout=aiohttp.ClientTimeout(total=self.send_timeout),
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
            timeout=aiohttp.ClientTimeout(total=self.send_timeout),
        )
        status: int = response.status
        return status

    async def deliver(self, notice_id: int, *, attempt: int, last: bool) -> None:
        """Send the notice to each of its person's devices not yet served and record the
        outcome; raise `DeliveryError` when a device failed and this was not the `last`
        attempt (a last one dead-letters the row instead). A finished row is left alone."""
        async with self.sessions() as db:
            row = await db.get(PushOutbox, notice_id)
            if row is None or row.delivered_at is not None or row.dead_at is not None:
                return
            subs: Sequence[PushSubscription] = list(
                await db.scalars(
                    select(PushSubscription).where(PushSubscription.user_id == row.user_id)
                )
            )
        # Nothing of the database is held while the push services answer.
        work = [sub for sub in subs if sub.id not in row.delivered_to]
        results = await asyncio.gather(
            *(self.send(sub, row) for sub in work), return_exceptions=True
        )
        outcome = _Outcome(set(row.delivered_to))
        for sub, result in zip(work, results, strict=True):
            if isinstance(result, BaseException):
                outcome.errors.append(f"{sub.id}: {type(result).__name__}: {result}"[:300])
            elif result in GONE:
                outcome.gone.append(sub.id)
            elif 200 <= result < 300:
                outcome.done.add(sub.id)
            else:
                outcome.errors.append(f"{sub.id}: HTTP {result}")
        await self._record(notice_id, outcome, attempt=attempt, last=last)
        if outcome.errors and not last:
            raise DeliveryError("; ".join(outcome.errors))

    async def _record(self, notice_id: int, outcome: _Outcome, *, attempt: int, last: bool) -> None:
        now = self.clock.now()
        async with self.sessions() as db, db.begin():
            if outcome.gone:
                await db.execute(
                    delete(PushSubscription).where(PushSubscription.id.in_(outcome.gone))
                )
            if outcome.done:
                await db.execute(
                    update(PushSubscription)
                    .where(PushSubscription.id.in_(outcome.done))
                    .values(last_sent_at=now)
                )
            row = await db.get_one(PushOutbox, notice_id)
            row.delivered_to = sorted(outcome.done)
            row.attempts = attempt
            if not outcome.errors:
                row.delivered_at = now
                return
            row.last_error = "; ".join(outcome.errors)[:2000]
            if last:
                row.dead_at = now
                log.warning(
                    "push notice %s dead after %s attempts: %s", notice_id, attempt, row.last_error
                )


class PushContext(jobs.Context, Protocol):
    @property
    def push(self) -> Sender: ...


async def send_job(ctx: PushContext, job: jobs.ClaimedJob) -> None:
    last = job.attempt >= min(ctx.settings.push_max_attempts, job.max_attempts)
    await ctx.push.deliver(int(job.payload["notice"]), attempt=job.attempt, last=last)
