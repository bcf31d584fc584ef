"""Group commit: many small writes that arrive together, written in one transaction.

`await batch.submit(item)` returns once the item has been written; items submitted while a
write is in progress go together into the next one. One writer at a time also spares SQLite's
lock (a writer that finds it taken sleeps in coarse steps), and each item costs a statement,
not a transaction. If a write fails, every item of it gets the exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        # Shielded: a submitter that is cancelled does not cancel the others' write.
        await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write([item for item, _ in batch])
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def wait_idle(self) -> None:
        """Return once nothing submitted is still being written."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
