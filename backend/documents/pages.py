"""Page images on demand, cached by content hash: each page is rendered at most once per
rendition, however many people open it at once and on however many server processes."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import redis.asyncio as aioredis

from backend.core.blobs import BlobStore
from backend.documents.render import WIDTHS
from backend.documents.workers import PdfWorkers

LOCK_SECONDS = 120


class PageRenderer:
    def __init__(
        self, *, cache_dir: Path, blobs: BlobStore, workers: PdfWorkers, redis: aioredis.Redis
    ) -> None:
        self.cache_dir = cache_dir
        self.blobs = blobs
        self.workers = workers
        self.redis = redis
        self.rendered = 0  # renders done by this process (observability and tests)
        self._inflight: dict[Path, asyncio.Future[bytes]] = {}

    def path(self, sha256: str, page: int, width: int) -> Path:
        return self.cache_dir / sha256[:2] / sha256 / f"{page}-{width}.webp"

    async def image(self, *, sha256: str, page: int, width: int) -> bytes:
        """WebP of page `page` (0-based) of the PDF `sha256` at `width` pixels."""
        if width not in WIDTHS:
            raise ValueError(f"width must be one of {WIDTHS}")
        path = self.path(sha256, page, width)
        cached = await asyncio.to_thread(_read, path)
        if cached is not None:
            return cached
        running = self._inflight.get(path)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[path] = future
        try:
            data = await self._render_once(path, sha256, page, width)
            future.set_result(data)
            return data
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed here; waiters re-raise their own copy
            raise
        finally:
            del self._inflight[path]

    async def _render_once(self, path: Path, sha256: str, page: int, width: int) -> bytes:
        lock = f"eoffice:render:{sha256}:{page}:{width}"
        owner = await self.redis.set(lock, b"1", nx=True, ex=LOCK_SECONDS)
        if not owner:
            # Another process renders it: wait for its file rather than render twice.
            for _ in range(LOCK_SECONDS * 10):
                await asyncio.sleep(0.1)
                cached = await asyncio.to_thread(_read, path)
                if cached is not None:
                    return cached
                if not await self.redis.exists(lock):
                    break
        try:
            source = await self.blobs.local_path(sha256)
            data = await self.workers.render(str(source), page, width)
            self.rendered += 1
            await asyncio.to_thread(_write_atomically, path, data)
            return data
        finally:
            if owner:
                await self.redis.delete(lock)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
