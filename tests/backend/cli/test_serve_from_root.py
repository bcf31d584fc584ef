"""`eoffice serve` as the README says: from the project root, no `EOFFICE_*` variables, the data
dir the relative default `data`. Every path handed to a child (the embedded redis-server chdirs
to its `--dir`) must be absolute, or the child looks for it relative to the wrong directory."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port


@contextmanager
def serving(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
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
        yield port, proc, log
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def wait_for_health(port: int, proc: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(log.read_text()[-3000:])


def test_serve_with_the_documented_defaults_from_its_own_directory(tmp_path: Path) -> None:
    with serving(tmp_path) as (port, proc, log):
        health = wait_for_health(port, proc, log)
        assert health.status_code == 200, health.text
        assert health.json()["redis"]["ok"] is True
        assert (tmp_path / "data" / "redis" / "redis.log").exists() or any(
            (tmp_path / "data").rglob("redis.log")
        )


def test_an_idle_connection_is_kept_longer_than_a_pause_between_clicks(tmp_path: Path) -> None:
    # uvicorn's default closed it after 5 s: a browser or a balancer reusing it then had its
    # request reset (bench/bench_load.py saw it under load).
    with serving(tmp_path) as (port, proc, log):
        wait_for_health(port, proc, log)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for pause in (0, 6):
                time.sleep(pause)
                # On the same socket: http.client reconnects only when it has none.
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                assert response.status == 200
                response.read()
        finally:
            connection.close()
