"""A pool of worker processes for PDF work: intake checks, scan combining, page rendering.

Processes rather than threads: PDFium is not thread-safe, CPU work must not stall the event
loop, and a hostile file that crashes PDFium must take down a worker, not the server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from backend.documents import pdfcheck, render, scan
from backend.documents.intake_errors import DamagedPdfError

T = TypeVar("T")


class PdfWorkers:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    @property
    def executor(self) -> ProcessPoolExecutor:
        """The current pool, for other CPU-bound work (the PDF half of batch signing)."""
        return self._pool

    def warm(self, fn: Callable[[], object]) -> None:
        """Start the workers now and run `fn` in them, without waiting: work that will soon
        need them ready (a batch the signer is confirming) does not pay for their start."""
        try:
            for _ in range(self.workers):
                self._pool.submit(fn)
        except BrokenProcessPool:
            pass  # the next `_run` replaces the pool

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except BrokenProcessPool:
            # A worker died (e.g. PDFium crashed on a hostile file): replace the pool, refuse.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raise

    async def inspect(
        self, data: bytes, *, name: str, max_bytes: int, max_pages: int
    ) -> pdfcheck.PdfInfo:
        try:
            info: pdfcheck.PdfInfo = await self._run(_inspect, data, name, max_bytes, max_pages)
        except BrokenProcessPool:
            raise DamagedPdfError(name) from None
        return info

    async def combine_images(
        self, images: list[tuple[str, bytes]], *, max_pages: int
    ) -> tuple[bytes, int]:
        result: tuple[bytes, int] = await self._run(_combine, images, max_pages)
        return result

    async def render(self, pdf_path: str, page_index: int, width: int) -> bytes:
        image: bytes = await self._run(render.render_page, pdf_path, page_index, width)
        return image

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _inspect(data: bytes, name: str, max_bytes: int, max_pages: int) -> pdfcheck.PdfInfo:
    return pdfcheck.inspect_pdf(data, name=name, max_bytes=max_bytes, max_pages=max_pages)


def _combine(images: list[tuple[str, bytes]], max_pages: int) -> tuple[bytes, int]:
    return scan.images_to_pdf(images, max_pages=max_pages)
