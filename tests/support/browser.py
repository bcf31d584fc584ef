"""A real browser (Debian's Chromium driven by Playwright) against a real uvicorn server."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from backend.core.settings import Settings

CHROMIUM = os.environ.get("EOFFICE_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's services,
# which this network refuses; --no-sandbox because the suite runs as root in CI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"


class LiveServer:
    """uvicorn serving `create_app(settings)` in a thread, on http://localhost:<port>."""

    def __init__(self, settings: Settings, port: int) -> None:
        from backend.web.app import create_app

        self.settings = settings
        self.url = f"http://localhost:{port}"
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live_server(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[LiveServer]:
    from tests.conftest import free_port, make_settings

    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    with LiveServer(settings, port) as server:
        yield server


# Module scope, not session: while Playwright's sync API is alive it owns the main thread's
# event loop, which would break async tests that run after a browser module.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs the Debian chromium package")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def wait_until(page: Page, expression: str, arg: object = None, timeout: float = 15.0) -> None:
    """Poll `expression` (a JS expression, or a function of `arg`) until it is truthy.

    Not Playwright's `wait_for_function`: when its first check is false it polls inside the
    page with `eval`, which the app's CSP (script-src 'self') refuses — so it passes on a fast
    machine and fails on a loaded one. `page.evaluate` goes through the DevTools protocol,
    which the CSP does not govern. A navigation while it asks (a reload the page does itself)
    destroys the context it asked in: it asks again, in the new page.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if page.evaluate(expression, arg):
                return
        except PlaywrightError as exc:
            if "Execution context was destroyed" not in exc.message:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} s: {expression}")
        page.wait_for_timeout(100)
