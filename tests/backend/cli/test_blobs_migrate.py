"""`eoffice blobs migrate`: the file store copied to S3 (a real SeaweedFS), resumably."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from backend.cli.main import main
from backend.core.blobs import FileBlobStore, blob_key
from tests.support.seaweedfs import SeaweedFS


def test_migrate_copies_verifies_and_resumes(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    seaweedfs: SeaweedFS,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = seaweedfs.new_prefix()
    for key, value in seaweedfs.settings_overrides(prefix).items():
        monkeypatch.setenv(f"EOFFICE_{key.upper()}", str(value))
    monkeypatch.setenv("EOFFICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EOFFICE_BLOB_URL")  # the app still runs on files

    source = FileBlobStore(tmp_path / "data" / "blobs")
    blobs = [os.urandom(n) for n in (10, 1000, 9 * 1024 * 1024)]
    shas = [asyncio.run(source.put(data)) for data in blobs]
    damaged = asyncio.run(source.put(b"will be damaged"))
    path = source.root / blob_key(damaged)
    path.chmod(0o640)
    path.write_bytes(b"damaged on disk")
    # A partial copy from an interrupted run: same key, wrong size; it is replaced.
    s3 = seaweedfs.client()
    s3.put_object(Bucket=seaweedfs.bucket, Key=f"{prefix}/{blob_key(shas[1])}", Body=b"partial")
    url = f"s3://{seaweedfs.bucket}/{prefix}"

    assert main(["blobs", "migrate", "--to", url, "--every", "1"]) == 1
    first = capsys.readouterr()
    assert "4 blobs, 3 copied (9.4 MB), 0 already there, 1 failed." in first.out
    assert f"failed {damaged}: source file damaged" in first.err
    assert "4 done: 3 copied" in first.out

    for sha, data in zip(shas, blobs, strict=True):
        body = s3.get_object(Bucket=seaweedfs.bucket, Key=f"{prefix}/{blob_key(sha)}")["Body"]
        assert body.read() == data
    keys = s3.list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix + "/")["Contents"]
    assert len(keys) == 3  # the damaged one was not copied

    assert main(["blobs", "migrate", "--to", url]) == 1
    second = capsys.readouterr()
    assert "4 blobs, 0 copied (0.0 MB), 3 already there, 1 failed." in second.out

    # Repaired at the source: the next run copies just that one and succeeds.
    path.unlink()
    asyncio.run(source.put(b"will be damaged"))
    assert main(["blobs", "migrate", "--to", url]) == 0
    third = capsys.readouterr()
    assert "1 copied" in third.out and "3 already there, 0 failed." in third.out
    assert f"EOFFICE_BLOB_URL={url}" in third.out


def test_migrate_with_the_store_down_stops_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.ports import free_port

    monkeypatch.setenv("EOFFICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EOFFICE_BLOB_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("EOFFICE_BLOB_ACCESS_KEY", "k")
    monkeypatch.setenv("EOFFICE_BLOB_SECRET_KEY", "s")
    asyncio.run(FileBlobStore(tmp_path / "data" / "blobs").put(b"x"))
    assert main(["blobs", "migrate", "--to", "s3://eoffice/blobs"]) == 1
    err = capsys.readouterr().err
    assert "stopped, run again to resume" in err and "unreachable" in err
    assert main(["blobs", "migrate", "--to", "http://not-s3"]) == 2
