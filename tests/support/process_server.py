"""The app in its own server process (`python -m backend serve`), for what a thread cannot show:
a process killed with SIGKILL, two processes sharing Redis, PKCS#11 loaded with the test's own
SoftHSM configuration."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from backend.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOFFICE_")}
    for name in Settings.field_names():
        value = getattr(settings, name)
        env["EOFFICE_" + name.upper()] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    env.pop("SOFTHSM2_CONF", None)
    env.update(extra)
    return env


class ProcessServer:
    def __init__(self, settings: Settings, port: int, *, workers: int = 1) -> None:
        self.settings = settings
        self.port = port
        # More than one: `eoffice serve --workers N` (uvicorn's supervisor and N app processes).
        self.workers = workers
        self.url = f"http://localhost:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ProcessServer:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = self.settings.data_dir / f"server-{self.port}.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "backend",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=env_for(self.settings),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup — what a power cut or the OOM killer does."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
