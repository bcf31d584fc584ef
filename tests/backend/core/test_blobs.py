"""The same cases on both blob stores: files under the data dir and S3 (a real SeaweedFS)."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from backend.core.blob_stores import open_blob_store
from backend.core.blobs import (
    BlobCorruptError,
    BlobNotFoundError,
    BlobStore,
    BlobStoreUnavailableError,
    FileBlobStore,
    blob_key,
)
from backend.core.blobs_s3 import S3BlobStore
from tests.conftest import make_settings
from tests.support.ports import free_port
from tests.support.seaweedfs import ACCESS_KEY, SeaweedFS

pytestmark = pytest.mark.anyio


class Harness:
    """A store of one kind plus a back door to its raw bytes, to damage them."""

    def __init__(self, store: BlobStore, overwrite: Callable[[str, bytes], None]) -> None:
        self.store = store
        self.overwrite = overwrite


@pytest.fixture(params=["file", "s3"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    if request.param == "file":
        root = tmp_path / "blobs"

        def overwrite_file(sha: str, data: bytes) -> None:
            path = root / blob_key(sha)
            path.chmod(0o640)
            path.write_bytes(data)

        return Harness(FileBlobStore(root), overwrite_file)
    seaweedfs: SeaweedFS = request.getfixturevalue("seaweedfs")
    prefix = seaweedfs.new_prefix() + "/blobs"
    store = seaweedfs.store(tmp_path / "blob-cache", prefix)

    def overwrite_object(sha: str, data: bytes) -> None:
        seaweedfs.client().put_object(
            Bucket=seaweedfs.bucket, Key=f"{prefix}/{blob_key(sha)}", Body=data
        )

    return Harness(store, overwrite_object)


async def test_put_get_is_content_addressed_and_idempotent(harness: Harness) -> None:
    store = harness.store
    data = b"%PDF-1.7 Quy\xe1\xba\xbft \xc4\x91\xe1\xbb\x8bnh" + os.urandom(100)
    sha = await store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert await store.put(data) == sha
    assert await store.get(sha) == data
    assert await store.exists(sha)
    assert not await store.exists(hashlib.sha256(b"other").hexdigest())
    await store.ping()


async def test_file_store_writes_one_read_only_file(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    sha = await store.put(b"once")
    await store.put(b"once")
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert [p.relative_to(tmp_path / "blobs").as_posix() for p in files] == [blob_key(sha)]
    assert not os.access(files[0], os.W_OK) or os.geteuid() == 0  # stored read-only


async def test_s3_store_uses_the_file_layout_under_its_prefix(
    seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    prefix = seaweedfs.new_prefix()
    store = seaweedfs.store(tmp_path, f"/{prefix}/")
    sha = await store.put(b"layout")
    listed = seaweedfs.client().list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert [o["Key"] for o in listed["Contents"]] == [f"{prefix}/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert "secret" not in repr(store) and seaweedfs.secret_key not in repr(store)


async def test_corruption_is_detected(harness: Harness) -> None:
    sha = await harness.store.put(b"original")
    harness.overwrite(sha, b"changed")
    with pytest.raises(BlobCorruptError):
        await harness.store.get(sha)


@pytest.mark.parametrize("blob", ["0" * 64, "../../etc/passwd", "ABC"])
async def test_missing_or_malformed_ids(harness: Harness, blob: str) -> None:
    with pytest.raises(BlobNotFoundError):
        await harness.store.get(blob)
    with pytest.raises(BlobNotFoundError):
        await harness.store.local_path(blob)


async def test_local_path_holds_the_bytes(harness: Harness) -> None:
    data = b"page source " + os.urandom(1000)
    sha = await harness.store.put(data)
    path = await harness.store.local_path(sha)
    assert path.read_bytes() == data
    assert await harness.store.local_path(sha) == path
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp")]


async def test_s3_local_cache_is_checked_and_refetched(
    seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    prefix = seaweedfs.new_prefix()
    store = seaweedfs.store(tmp_path / "cache", prefix)
    sha = await store.put(b"cached")
    path = await store.local_path(sha)
    assert path.is_relative_to(tmp_path / "cache")
    path.chmod(0o640)
    path.write_bytes(b"damaged in the cache")
    assert (await store.local_path(sha)).read_bytes() == b"cached"
    # Damaged in the bucket: the download is refused, nothing is cached.
    path.chmod(0o640)
    path.unlink()
    seaweedfs.client().put_object(
        Bucket=seaweedfs.bucket, Key=f"{prefix}/{blob_key(sha)}", Body=b"evil"
    )
    with pytest.raises(BlobCorruptError):
        await store.local_path(sha)
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


async def test_a_20_mb_blob_round_trips(harness: Harness) -> None:
    data = os.urandom(20 * 1024 * 1024)
    sha = await harness.store.put(data)
    assert await harness.store.get(sha) == data
    assert hashlib.sha256((await harness.store.local_path(sha)).read_bytes()).hexdigest() == sha


async def test_s3_large_blobs_go_up_in_parts(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    store = seaweedfs.store(tmp_path, prefix := seaweedfs.new_prefix())
    sha = await store.put(os.urandom(20 * 1024 * 1024))
    head = seaweedfs.client().head_object(Bucket=seaweedfs.bucket, Key=f"{prefix}/{blob_key(sha)}")
    # A multipart object's ETag is "<md5 of the parts' md5s>-<number of parts>".
    assert head["ETag"].strip('"').endswith("-3")


async def test_store_down_is_a_clear_error_quickly(tmp_path: Path) -> None:
    store = S3BlobStore(
        bucket="eoffice",
        cache_dir=tmp_path,
        endpoint_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        access_key=ACCESS_KEY,
        secret_key="x",
    )
    started = time.monotonic()
    for call in (store.ping(), store.put(b"x"), store.get("a" * 64), store.exists("a" * 64)):
        with pytest.raises(BlobStoreUnavailableError, match="unreachable"):
            await call
    assert time.monotonic() - started < 30


async def test_a_store_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:
        # Listening, never accepting: connections complete, requests get no answer.
        silent.bind(("127.0.0.1", free_port()))
        silent.listen(16)
        store = S3BlobStore(
            bucket="eoffice",
            cache_dir=tmp_path,
            endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            access_key=ACCESS_KEY,
            secret_key="x",
            read_timeout=0.5,
            max_attempts=2,
        )
        started = time.monotonic()
        with pytest.raises(BlobStoreUnavailableError, match="ReadTimeoutError"):
            await store.get("a" * 64)
        assert time.monotonic() - started < 10


async def test_wrong_credentials_or_bucket_are_unavailable_not_missing(
    seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    wrong_secret = S3BlobStore(
        bucket=seaweedfs.bucket,
        cache_dir=tmp_path,
        endpoint_url=seaweedfs.endpoint,
        access_key=ACCESS_KEY,
        secret_key="not-the-secret",
    )
    with pytest.raises(BlobStoreUnavailableError):
        await wrong_secret.ping()
    with pytest.raises(BlobStoreUnavailableError):
        await wrong_secret.get("a" * 64)
    no_bucket = S3BlobStore(
        bucket="no-such-bucket",
        cache_dir=tmp_path,
        endpoint_url=seaweedfs.endpoint,
        access_key=ACCESS_KEY,
        secret_key=seaweedfs.secret_key,
    )
    with pytest.raises(BlobStoreUnavailableError):
        await no_bucket.ping()


def test_settings_choose_the_store(tmp_path: Path, seaweedfs: SeaweedFS) -> None:
    plain = make_settings(tmp_path, "sqlite+aiosqlite://", "redis://127.0.0.1:1/0")
    assert isinstance(open_blob_store(plain), FileBlobStore)
    s3 = make_settings(
        tmp_path,
        "sqlite+aiosqlite://",
        "redis://127.0.0.1:1/0",
        **seaweedfs.settings_overrides("a/b"),
    )
    store = open_blob_store(s3)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix, store.cache_dir) == (
        seaweedfs.bucket,
        "a/b",
        s3.data_dir / "blob-cache",
    )
    assert seaweedfs.secret_key not in repr(s3)
