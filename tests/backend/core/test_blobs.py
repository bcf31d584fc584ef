from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from backend.core.blobs import BlobCorruptError, BlobNotFoundError, FileBlobStore

pytestmark = pytest.mark.anyio


async def test_put_get_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    data = b"%PDF-1.7 Quy\xe1\xba\xbft \xc4\x91\xe1\xbb\x8bnh" + os.urandom(100)
    sha = await store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert await store.put(data) == sha
    assert await store.get(sha) == data
    assert await store.exists(sha)
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].name.startswith(".tmp")
    assert not os.access(files[0], os.W_OK) or os.geteuid() == 0  # stored read-only


async def test_corruption_on_disk_is_detected(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    sha = await store.put(b"original")
    path = next(p for p in tmp_path.rglob(sha))
    path.chmod(0o640)
    path.write_bytes(b"changed")
    with pytest.raises(BlobCorruptError):
        await store.get(sha)


@pytest.mark.parametrize("blob", ["0" * 64, "../../etc/passwd", "ABC"])
async def test_missing_or_malformed_ids(tmp_path: Path, blob: str) -> None:
    store = FileBlobStore(tmp_path)
    with pytest.raises(BlobNotFoundError):
        await store.get(blob)
