"""Run an ASGI app's lifespan in-process, as a server would, and talk to it with httpx."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send


class LifespanManager:
    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._receive: asyncio.Queue[Message] = asyncio.Queue()
        self._send: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LifespanManager:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._task = asyncio.create_task(self.app(scope, self._receive.get, self._send.put))
        await self._receive.put({"type": "lifespan.startup"})
        message = await self._next()
        if message["type"] == "lifespan.startup.failed":
            await self._task
            raise RuntimeError(f"lifespan startup failed: {message.get('message')}")
        return self

    async def _next(self) -> Message:
        getter = asyncio.ensure_future(self._send.get())
        assert self._task is not None
        done, _ = await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        self._task.result()  # re-raises the app's exception
        raise RuntimeError("lifespan ended without answering")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._receive.put({"type": "lifespan.shutdown"})
        message = await self._next()
        assert self._task is not None
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if message["type"] == "lifespan.shutdown.failed":
            raise RuntimeError(f"lifespan shutdown failed: {message.get('message')}")

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        # What a server does: every request sees a shallow copy of the lifespan state.
        if scope["type"] in {"http", "websocket"}:
            scope = {**scope, "state": dict(self.state)}
        await self.app(scope, receive, send)

    def client(self, base_url: str = "http://localhost:8000") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.asgi), base_url=base_url, follow_redirects=False
        )
