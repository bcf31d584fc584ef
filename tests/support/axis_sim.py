"""`eoffice axis-sim` as a real process on a free port, for the VXP client's tests: started with
subprocess, waited for with a deadline, stopped by its PID."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.support.process_server import ROOT

BASE_PATH = "/XrdAdapter/adapter"


class AxisSimProcess:
    def __init__(self, directory: Path, *args: str) -> None:
        self.directory = directory
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.url + BASE_PATH
        self.log = directory / f"axis-sim-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> AxisSimProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EOFFICE_")}
        env["EOFFICE_DATA_DIR"] = str(self.directory / "data")
        env["EOFFICE_LOG_LEVEL"] = "warning"
        command = [sys.executable, "-m", "backend", "axis-sim", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, *self.args], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"axis-sim exited: {self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"axis-sim did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def hook(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST a fault hook (with a body) or GET an inspection hook (without)."""
        with httpx.Client(base_url=self.url, timeout=30) as http:
            response = http.post(path, json=body) if body is not None else http.get(path)
        response.raise_for_status()
        return response.json()

    async def ahook(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            if body is not None:
                response = await http.post(path, json=body)
            else:
                response = await http.get(path)
        response.raise_for_status()
        return response.json()


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return path
