"""Content-addressed blob store: bytes in, SHA-256 out; nothing is ever overwritten.

`BlobStore` is the interface the domain uses; `FileBlobStore` keeps files under the data dir,
`S3BlobStore` (backend.core.blobs_s3) keeps the same keys in an S3-compatible bucket, at scale,
without the domain noticing. `backend.core.blob_stores.open_blob_store` picks one from the settings.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

if TYPE_CHECKING:
    pass

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """Root of blob store errors."""


class BlobNotFoundError(BlobError):
    pass


class BlobCorruptError(BlobError):
    """Stored bytes no longer match their address."""


class BlobStoreUnavailableError(BlobError):
    """The store did not answer or refused us (down, unreachable, bad credentials, no bucket).

    Web handlers turn every non-missing, non-corrupt `BlobError` into a 503 "try again shortly".
    """


def blob_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_id(sha256: str) -> None:
    if not _SHA256.match(sha256):
        raise BlobNotFoundError(f"not a blob id: {sha256!r}")


def blob_key(sha256: str) -> str:
    """Where a blob lives relative to the store's root: `ab/cd/abcd…` (both stores)."""
    _check_id(sha256)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class BlobStore(ABC):
    @abstractmethod
    async def put(self, data: bytes) -> str:
        """Store `data` (idempotent); return its SHA-256 hex digest."""

    @abstractmethod
    async def get(self, sha256: str) -> bytes:
        """Return the bytes stored under `sha256`, checked against it."""

    @abstractmethod
    async def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the store cannot be written."""

    @abstractmethod
    async def local_path(self, sha256: str) -> Path:
        """A local file holding the blob, for tools that read files (PDFium in workers).

        A remote store downloads into a local cache here.
        """


class FileBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"

    def _path(self, sha256: str) -> Path:
        _check_id(sha256)
        return self.root / blob_key(sha256)

    def _put(self, data: bytes) -> str:
        sha256 = blob_id(data)
        path = self._path(sha256)
        if path.exists():
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: a crash leaves a stray temp file, never a truncated blob.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o440)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256

    def _get(self, sha256: str) -> bytes:
        try:
            data = self._path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(sha256) from None
        if blob_id(data) != sha256:
            raise BlobCorruptError(sha256)
        return data

    async def put(self, data: bytes) -> str:
        return await anyio.to_thread.run_sync(self._put, data)

    async def get(self, sha256: str) -> bytes:
        return await anyio.to_thread.run_sync(self._get, sha256)

    async def exists(self, sha256: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(sha256).exists)

    async def local_path(self, sha256: str) -> Path:
        path = self._path(sha256)
        if not await anyio.to_thread.run_sync(path.exists):
            raise BlobNotFoundError(sha256)
        return path

    async def ping(self) -> None:
        def check() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise BlobError(f"blob store not writable: {self.root}")

        await anyio.to_thread.run_sync(check)
