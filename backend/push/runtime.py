"""The push machinery of one process: the relay loop (every app process) and the worker loop
(in-process by default; `eoffice worker` runs it separately at scale)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.clock import Clock
from backend.core.urls import UrlFor
from backend.push.relay import relay_once
from backend.push.vapid import VapidKeys
from backend.push.worker import Policy, Worker

log = logging.getLogger("eoffice.push")


class PushRuntime:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        redis: aioredis.Redis,
        clock: Clock,
        keys: VapidKeys,
        urls: UrlFor,
        policy: Policy,
        run_worker: bool,
        poll_seconds: float = 1.0,
    ) -> None:
        self.sessions, self.redis, self.clock, self.keys = sessions, redis, clock, keys
        self.policy = policy
        self.run_worker = run_worker
        self.poll_seconds = poll_seconds
        self.worker = Worker(
            sessions=sessions,
            redis=redis,
            clock=clock,
            keys=keys,
            policy=policy,
            urls=urls,
            consumer=f"{socket.gethostname()}-{os.getpid()}-{id(self):x}",
        )
        self._kick = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stop = asyncio.Event()

    @property
    def redeliver_after(self) -> timedelta:
        return timedelta(milliseconds=self.policy.claim_idle_ms * 2)

    async def after_commit(self) -> None:
        """A notice was committed: relay it now rather than at the next poll."""
        self._kick.set()

    async def relay_now(self) -> int:
        return await relay_once(
            self.sessions, self.redis, clock=self.clock, redeliver_after=self.redeliver_after
        )

    def start(self) -> None:
        self._stopping = False
        self._stop = asyncio.Event()
        self._tasks.append(
            asyncio.create_task(self._loop("relay", self._relay_step), name="push-relay")
        )
        if self.run_worker:
            self._tasks.append(
                asyncio.create_task(self._loop("worker", self._worker_step), name="push-worker")
            )

    async def stop(self) -> None:
        self._stopping = True
        self._stop.set()
        await stop_tasks(self._tasks)
        self._tasks.clear()
        await self.worker.close()

    async def _relay_step(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), self.poll_seconds)
        self._kick.clear()
        while await self.relay_now():
            pass

    async def _worker_step(self) -> None:
        await self.worker.ensure_group()
        await self.worker.run_once(block_ms=int(self.poll_seconds * 1000))

    async def _loop(self, name: str, step: Callable[[], Awaitable[None]]) -> None:
        # `_stopping` as well as cancellation: a client library that turns a cancellation into
        # its own error must not keep the loop alive.
        while not self._stopping:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopping:
                    return
                # Redis or the database away for a moment: the outbox keeps everything.
                log.warning("push %s loop failed; retrying", name, exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.poll_seconds)


async def stop_tasks(tasks: list[asyncio.Task[None]], *, seconds: float = 5.0) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=seconds)
        for task in pending:
            log.warning("background task %s did not stop: %s", task.get_name(), task.get_stack())
    for task in tasks:
        if task.done() and not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()
