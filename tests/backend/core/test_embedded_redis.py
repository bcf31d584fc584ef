"""The embedded redis-server lives exactly as long as the app that owns it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from backend.core.embedded_redis import EmbeddedRedis
from backend.web.app import create_app
from tests.conftest import free_port, make_settings
from tests.support.lifespan import LifespanManager

ROOT = Path(__file__).resolve().parents[3]


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for a parent that will never reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in {"Z", "X"}


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def wait_until(predicate: object, seconds: float) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.mark.anyio
async def test_lifespan_starts_and_stops_the_embedded_server(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = make_settings(tmp_path, sqlite_url, redis_url="")
    assert settings.embedded_redis
    before = set(children(os.getpid()))
    async with LifespanManager(create_app(settings)) as app, app.client() as http:
        body = (await http.get("/healthz")).json()
        assert body["redis"]["ok"] is True
        # Other children may start with the app (multiprocessing's resource tracker, for the
        # PDF worker pool); exactly one new child is a redis-server.
        started = [
            pid
            for pid in children(os.getpid())
            if pid not in before and "redis-server" in Path(f"/proc/{pid}/cmdline").read_text()
        ]
        assert len(started) == 1
        redis_pid = started[0]
    assert not alive(redis_pid)
    assert not (tmp_path / "data" / "run" / "redis.sock").exists()


@pytest.mark.anyio
async def test_stop_is_idempotent_and_start_reports_failures(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "r")
    await server.start()
    await server.stop()
    await server.stop()
    too_long = EmbeddedRedis(tmp_path / ("x" * 120))
    with pytest.raises(Exception, match="too long"):
        await too_long.start()


def start_server_process(
    tmp_path: Path, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], int, int]:
    """`eoffice serve` on embedded defaults in its own process: (process, port, redis pid)."""
    port = free_port()
    env = {
        **os.environ,
        "EOFFICE_DATA_DIR": str(tmp_path / "data"),
        "EOFFICE_BASE_URL": f"http://localhost:{port}",
    }
    env.pop("EOFFICE_REDIS_URL", None)
    env.pop("EOFFICE_DATABASE_URL", None)
    eoffice = [sys.executable, "-m", "backend"]
    subprocess.run([*eoffice, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    with (log or Path(os.devnull)).open("wb") as stderr:
        process = subprocess.Popen(
            [*eoffice, "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("eoffice serve did not become healthy")
    redis_children = [
        pid
        for pid in children(process.pid)
        if "redis-server" in Path(f"/proc/{pid}/cmdline").read_text()
    ]
    assert len(redis_children) == 1
    return process, port, redis_children[0]


def test_graceful_stop_leaves_no_redis_behind(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    process, _, redis_pid = start_server_process(tmp_path, log)
    process.send_signal(signal.SIGTERM)
    # uvicorn finishes the shutdown, then re-raises the signal it caught.
    assert process.wait(timeout=20) in {0, -signal.SIGTERM}
    assert "Application shutdown complete." in log.read_text()
    assert not alive(redis_pid)


def test_a_crashed_app_takes_its_redis_with_it(tmp_path: Path) -> None:
    process, _, redis_pid = start_server_process(tmp_path)
    process.kill()  # SIGKILL: no lifespan shutdown, no atexit
    process.wait(timeout=10)
    assert wait_until(lambda: not alive(redis_pid), 3.0), "redis-server outlived a crashed app"


def test_restart_after_crash_reuses_the_data_dir(tmp_path: Path) -> None:
    first, _, _ = start_server_process(tmp_path)
    first.kill()
    first.wait(timeout=10)
    # A stale socket file is left behind; the next start must not trip over it.
    second, port, redis_pid = start_server_process(tmp_path)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["redis"]["ok"] is True
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    assert not alive(redis_pid)
