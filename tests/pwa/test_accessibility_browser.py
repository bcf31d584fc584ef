"""The accessibility bar of issue #16 on every main screen: axe-core (WCAG 2.1 A/AA and best
practices) finds no serious or critical violation, in a real Chromium at phone size, signed in
as the demo's leader, specialist and clerk (the demo with a month of history: drafts wait for
the leader). One server for the module; one test per group of screens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend.cli import signing as signing_cli
from backend.core import db
from backend.core.blobs import FileBlobStore
from backend.core.clock import SystemClock
from backend.demo import province
from backend.documents.workers import PdfWorkers
from backend.signing_flow import keyring
from tests.conftest import RedisServer, copy_sqlite, free_port, make_settings, run_async
from tests.support.axe import assert_accessible
from tests.support.browser import LiveServer

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LEADER = "Nguyễn Văn An"
SPECIALIST = "Hoàng Minh Đức"
CLERK = "Đặng Quốc Huy"


@pytest.fixture(scope="module")
def demo_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, redis_server: RedisServer
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("a11y")
    url = copy_sqlite(sqlite_template, tmp / "db")
    redis_server.flush()
    port = free_port()
    settings = make_settings(
        tmp, url, redis_server.url, base_url=f"http://localhost:{port}", demo=True
    )

    async def load() -> tuple[list[keyring.Person], str]:
        engine = db.create_engine(url)
        workers = PdfWorkers(1)
        try:
            async with db.sessionmaker(engine)() as s, s.begin():
                await province.load(
                    s,
                    clock=SystemClock(),
                    blobs=FileBlobStore(settings.data_dir / "blobs"),
                    workers=workers,
                    months=1,
                    daily=2,
                )
            async with db.sessionmaker(engine)() as s:
                return await signing_cli._people(s)
        finally:
            workers.close()
            await engine.dispose()

    people, agency_name = run_async(load())
    # The Chairman's key (as `eoffice pki init`, for him alone: a key is slow to make), which
    # preparing his signature needs.
    leader = [p for p in people if p.username == "chutich"]
    keyring.init(settings, people=leader, agency_name=agency_name)
    with LiveServer(settings, port) as server:
        yield server


def _context(browser: Browser) -> BrowserContext:
    # bypass_csp: axe is injected as an inline script, which the app's CSP rightly refuses.
    return browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,
        service_workers="block",
    )  # type: ignore[arg-type]


def _signed_in(browser: Browser, server: LiveServer, name: str) -> Page:
    page = _context(browser).new_page()
    page.goto(server.url + "/signin")
    page.get_by_role("button", name=f"Đăng nhập với tư cách {name}").click()
    expect(page.locator("h1")).to_contain_text(name)
    return page


def _first_link(page: Page, selector: str) -> str:
    href = page.locator(selector).first.get_attribute("href")
    assert href, f"no link {selector} on {page.url}"
    return href


def test_signin_and_home_of_each_role(browser: Browser, demo_server: LiveServer) -> None:
    page = _context(browser).new_page()
    page.goto(demo_server.url + "/signin")
    assert_accessible(page, name="signin")
    page.context.close()
    for role, name in (("leader", LEADER), ("specialist", SPECIALIST), ("clerk", CLERK)):
        page = _signed_in(browser, demo_server, name)
        assert_accessible(page, name=f"home-{role}")
        page.context.close()


def test_documents_list_and_reader(browser: Browser, demo_server: LiveServer) -> None:
    page = _signed_in(browser, demo_server, LEADER)
    page.goto(demo_server.url + "/documents")
    assert_accessible(page, name="documents")
    page.goto(demo_server.url + _first_link(page, ".doclist .docitem a"))
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page, name="reader")
    page.goto(demo_server.url + "/dashboard")
    assert_accessible(page, name="dashboard")
    page.context.close()


def test_sign_queue_and_confirmation_sheet(browser: Browser, demo_server: LiveServer) -> None:
    page = _signed_in(browser, demo_server, LEADER)
    page.goto(demo_server.url + "/sign")
    expect(page.locator(".doclist .docitem").first).to_be_visible()
    assert_accessible(page, name="sign-queue")
    page.goto(demo_server.url + _first_link(page, ".doclist .docitem a"))
    assert_accessible(page, name="sign-reader")
    page.get_by_role("button", name="Ký số").click()
    expect(page.locator("#confirm-sheet")).to_be_visible()
    assert_accessible(page, name="sign-sheet")
    page.context.close()


def test_drafts_and_issue(browser: Browser, demo_server: LiveServer) -> None:
    page = _signed_in(browser, demo_server, SPECIALIST)
    page.goto(demo_server.url + "/drafts/new")
    assert_accessible(page, name="draft-new")
    page.goto(demo_server.url + "/drafts")
    assert_accessible(page, name="drafts-mine")
    page.context.close()
    page = _signed_in(browser, demo_server, CLERK)
    page.goto(demo_server.url + "/issue")
    assert_accessible(page, name="issue")
    page.context.close()
