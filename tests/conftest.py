"""Shared fixtures: real Redis, real SQLite and PostgreSQL, the app in-process, a real browser.

Database fixtures are parametrised: a test that asks for `database_url` (or `settings`, `app`,
`client`) runs once on SQLite and once on PostgreSQL. Each test gets its own fresh database,
copied from a template migrated once per session.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from backend.core import db, migrate
from backend.core.embedded_redis import redis_server_binary
from backend.core.settings import Settings
from tests.support.lifespan import LifespanManager
from tests.support.ports import free_port
from tests.support.seaweedfs import SeaweedFS

pytest_plugins = ["tests.support.browser"]
T = TypeVar("T")

PG_ADMIN_DSN = os.environ.get(
    "EOFFICE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a fresh thread: works even while Playwright's sync API owns this thread's
    event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- Redis ------------------------------------------------------------------------------------


class RedisServer:
    """A real redis-server on a free port, stopped by its PID."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("test redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, 15)
            self.process.wait(timeout=10)
        self.process = None

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()  # a test may have stopped it on purpose
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A real S3-compatible object store, started once per session (xdist worker) on first use."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    print(f"SeaweedFS S3 at {server.endpoint}, up in {server.started_in:.2f}s")
    yield server
    server.stop()


# --- SQL databases ----------------------------------------------------------------------------


def _pg_url(name: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def pg_admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _migrate(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    run_async(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = f"eoffice_tpl_{uuid.uuid4().hex[:10]}"
    try:
        run_async(pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at 127.0.0.1:5432 is not usable: {exc!r}"
        if IN_CI:
            pytest.fail(message + " — in CI the PostgreSQL run must not be skipped")
        pytest.skip(message)
    run_async(_migrate(_pg_url(name)))
    yield name
    run_async(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def copy_sqlite(template: Path, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "test.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        yield copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "db")
        return
    template = request.getfixturevalue("postgres_template")
    name = f"eoffice_t_{uuid.uuid4().hex[:12]}"
    run_async(pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    run_async(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh SQLite database, for tests whose subject is not the database."""
    return copy_sqlite(sqlite_template, tmp_path / "db")


# --- The app --------------------------------------------------------------------------------


def make_settings(
    tmp_path: Path, database_url: str, redis_url: str, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "redis_url": redis_url,
        "base_url": "http://localhost:8000",
        # Periodic jobs (sweep, reminders, archival renewal) are run by the tests that are about
        # them, on the clock they move; an app's runner still runs every job that is queued.
        "scheduler": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return make_settings(tmp_path, database_url, redis_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[LifespanManager]:
    from backend.web.app import create_app

    async with LifespanManager(create_app(settings)) as manager:
        yield manager


@pytest.fixture
async def client(app: LifespanManager) -> AsyncIterator[httpx.AsyncClient]:
    async with app.client() as http:
        yield http


def starlette_app(manager: LifespanManager) -> Starlette:
    return manager.app
