"""Copy a file blob store into an S3 one (`eoffice blobs migrate`).

Resumable: an object already in the bucket with the file's size is skipped (keys are hashes, so
the right size under the right key is the same blob unless damaged; a damaged one is found by
the read-time hash check). Each copied object is read back and hashed. A source file whose bytes
no longer match its name is not copied; it is reported. The store going down stops the run
(`BlobStoreUnavailableError`); running it again resumes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread

from backend.core.blobs import (
    BlobError,
    BlobStoreUnavailableError,
    FileBlobStore,
    blob_id,
    blob_key,
)
from backend.core.blobs_s3 import S3BlobStore

_BLOB_FILE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class MigrationSummary:
    copied: int = 0
    copied_bytes: int = 0
    present: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (sha256, why)

    @property
    def total(self) -> int:
        return self.copied + self.present + len(self.failed)


def _blob_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(sha256, path) of every blob file under `root`, in key order; temp files skipped."""
    for path in sorted(root.glob("??/??/*")):
        name = path.name
        if _BLOB_FILE.match(name) and path.relative_to(root).as_posix() == blob_key(name):
            yield name, path


async def migrate_to_s3(
    source: FileBlobStore,
    target: S3BlobStore,
    *,
    progress: Callable[[MigrationSummary, str, str], None] = lambda summary, sha, what: None,
) -> MigrationSummary:
    """Copy every blob of `source` missing from `target`; `progress(summary, sha256, what)` is
    called after each one (what: "copied", "present" or "failed: …")."""
    summary = MigrationSummary()
    files = await anyio.to_thread.run_sync(lambda: list(_blob_files(source.root)))
    for sha256, path in files:
        size = (await anyio.to_thread.run_sync(path.stat)).st_size
        if await target.size(sha256) == size:
            summary.present += 1
            progress(summary, sha256, "present")
            continue
        data = await anyio.to_thread.run_sync(path.read_bytes)
        if blob_id(data) != sha256:
            summary.failed.append((sha256, "source file damaged (hash mismatch), not copied"))
            progress(summary, sha256, "failed: source damaged")
            continue
        try:
            # put() replaces an object of another size (a partial copy); get() hashes it back.
            await target.put(data)
            await target.get(sha256)
        except BlobStoreUnavailableError:
            raise  # the store is down: stop here; the next run resumes
        except BlobError as exc:
            summary.failed.append((sha256, f"{type(exc).__name__}: {exc}"))
            progress(summary, sha256, f"failed: {type(exc).__name__}")
            continue
        summary.copied += 1
        summary.copied_bytes += size
        progress(summary, sha256, "copied")
    return summary
