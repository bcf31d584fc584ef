"""`eoffice serve` as the README says: from the project root, no `EOFFICE_*` variables, the data
dir the relative default `data`. Every path handed to a child (the embedded redis-server chdirs
to its `--dir`) must be absolute, or the child looks for it relative to the wrong directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def test_serve_with_the_documented_defaults_from_its_own_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOFFICE_")}
    env.pop("SOFTHSM2_CONF", None)
    migrate = subprocess.run(
        [sys.executable, "-m", "backend", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "data" / "eoffice.db").exists()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        health: httpx.Response | None = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None, log.read_text()[-3000:]
        assert health.status_code == 200, health.text
        assert health.json()["redis"]["ok"] is True
        assert (tmp_path / "data" / "redis" / "redis.log").exists() or any(
            (tmp_path / "data").rglob("redis.log")
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
