"""Free TCP ports for the servers tests start.

Probing with bind(0) and closing leaves a window before the server binds: under pytest-xdist
another worker's probe could be handed the same port. So each worker (and each process a test
starts, by its pid) walks a range of its own, below the kernel's ephemeral range (32768 and up
on Linux) where outgoing connections take their ports, and a port is handed out only once per
process and only if it can be bound now.
"""

from __future__ import annotations

import os
import socket
import threading

_BASE = 20000
_WORKERS = 8
_SPAN = 1500  # 20000 + 8 × 1500 = 32000: below the ephemeral range
_lock = threading.Lock()
_next: int | None = None


def _worker() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) % _WORKERS if name[2:].isdigit() else 0


def free_port() -> int:
    """A port nothing listens on now, not handed out before by this process."""
    global _next
    start = _BASE + _worker() * _SPAN
    with _lock:
        if _next is None:
            _next = (os.getpid() * 7) % _SPAN
        for _ in range(_SPAN):
            port = start + _next
            _next = (_next + 1) % _SPAN
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"no free port in {start}–{start + _SPAN - 1}")
