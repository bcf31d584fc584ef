"""The leader's app, not a website: each role's home shows today's work; at most five tabs at the
bottom on phones and iPad portrait, a side rail in landscape; "Tôi" holds the account things;
pages below a destination have a back link; and from opening the app to a document signed by
passkey takes three taps when one document waits. On the demo province (a month of history, the
leaders' drafts), served by its own process with the demo signers' keys in SoftHSM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from backend.core.models import User
from backend.core.settings import Settings
from backend.demo import province
from backend.identity import users
from backend.signing_flow import keyring
from backend.web.app import create_app
from tests.backend.signing_flow.conftest import resources_of
from tests.conftest import RedisServer, copy_sqlite, free_port, make_settings, run_async
from tests.pwa.test_identity_browser import Authenticator
from tests.pwa.test_signing_browser import start_session
from tests.support.browser import screenshot_path, wait_until
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.browser

SIZES = {
    "phone": {"width": 390, "height": 844},
    "ipad": {"width": 820, "height": 1180},
    "ipad-landscape": {"width": 1180, "height": 820},
}
# The demo's people with a server-held signing key (leaders and grant holders).
SIGNERS = [
    ("chutich", "Nguyễn Văn An"),
    ("phochutich", "Trần Thị Bích Ngọc"),
    ("chanhvanphong", "Lê Hoàng Cường"),
]
ROLES = ["chutich", "chanhvanphong", "truongphongkt", "chuyenvien1", "vanthu", "quantri"]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-signing-home")
    keyring.init(
        Settings(data_dir=home),
        people=[keyring.Person(u, n, holds_server_key=True) for u, n in SIGNERS],
        agency_name="Ủy ban nhân dân tỉnh Sông Hồng (DEMO)",
    )
    return home


class Demo:
    def __init__(self, server: ProcessServer, ids: dict[str, int], link: str) -> None:
        self.server, self.ids, self.link = server, ids, link


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
    demo_home: Path,
    redis_server: RedisServer,
    sqlite_template: Path,
) -> Iterator[Demo]:
    """One server for the module (a month of demo history takes seconds to load)."""
    tmp = tmp_path_factory.mktemp("demo-app")
    port = free_port()
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()
    redis_server.flush()
    settings = make_settings(
        tmp,
        copy_sqlite(sqlite_template, tmp / "db"),
        redis_server.url,
        base_url=f"http://localhost:{port}",
    )
    install_pki(demo_home, settings.data_dir)

    async def seed() -> tuple[dict[str, int], str]:
        async with LifespanManager(create_app(settings)) as app:
            res = resources_of(app)
            async with res.sessions() as db, db.begin():
                await province.load(
                    db, clock=res.clock, blobs=res.blobs, workers=res.pdf_workers, months=1, daily=3
                )
            async with res.sessions() as db, db.begin():
                people = {u.username: u for u in await db.scalars(select(User))}
                issued = await users.invite(db, clock=res.clock, user=people["chutich"])
        return {name: u.id for name, u in people.items()}, f"{settings.origin}/enrol/{issued.token}"

    ids, link = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        yield Demo(server, ids, link)
    finally:
        server.stop()


def as_user(browser: Browser, demo: Demo, username: str, size: str) -> BrowserContext:
    context = browser.new_context(
        viewport=SIZES[size], device_scale_factor=1, is_mobile=size == "phone", has_touch=True
    )  # type: ignore[arg-type]
    session = start_session(demo.server.settings, demo.ids[username])
    context.add_cookies(
        [{"name": demo.server.settings.session_cookie, "value": session, "url": demo.server.url}]
    )
    return context


def tabs(page: Page) -> list[str]:
    return page.locator(".tabbar .tab").evaluate_all("els => els.map(e => e.dataset.tab)")


@pytest.mark.parametrize("size", ["phone", "ipad", "ipad-landscape"])
def test_every_role_opens_on_todays_work_with_app_navigation(
    browser: Browser, demo: Demo, size: str
) -> None:
    expected = {
        "chutich": ["home", "to-sign", "documents", "dashboard", "me"],
        "chanhvanphong": ["home", "to-sign", "documents", "dashboard", "me"],
        "truongphongkt": ["home", "my-work", "documents", "dashboard", "me"],
        "chuyenvien1": ["home", "my-work", "documents", "drafts", "me"],
        "vanthu": ["home", "documents", "issue", "axis", "me"],
        "quantri": ["home", "users", "me"],
    }
    sections = {
        "chutich": ["to-sign", "direction", "overdue-units"],
        "chanhvanphong": ["to-sign", "direction", "to-route", "unit", "my-work"],
        "truongphongkt": ["unit", "my-work"],
        "chuyenvien1": ["my-work"],
        "vanthu": ["to-issue", "from-axis"],
        "quantri": [],
    }
    for username in ROLES:
        context = as_user(browser, demo, username, size)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(demo.server.url + "/")
        expect(page.locator("h1")).to_contain_text("Xin chào")
        assert tabs(page) == expected[username], username
        shown = page.locator("#today .todo").evaluate_all("els => els.map(e => e.dataset.section)")
        for key in sections[username]:
            assert key in shown, (username, key, shown)
        bar = page.locator(".tabbar").bounding_box()
        assert bar is not None
        if size == "ipad-landscape":
            # A rail on the left, the full height.
            assert bar["x"] == 0 and bar["width"] < 120 and bar["height"] > 700, bar
        else:
            # A bar at the bottom, every target at least 48 px.
            assert bar["y"] + bar["height"] >= SIZES[size]["height"] - 1, bar
            for box in page.locator(".tabbar .tab").evaluate_all(
                "els => els.map(e => [e.offsetWidth, e.offsetHeight])"
            ):
                assert box[0] >= 48 and box[1] >= 48, (username, box)
        expect(page.locator(".tab[aria-current=page]")).to_have_attribute("data-tab", "home")
        page.screenshot(path=screenshot_path(f"home-{username}-{size}"), full_page=True)
        context.close()
        assert errors == [], username

    # The leader: his queue with the demo's drafts (Hỏa tốc first), the dashboard, "Tôi".
    context = as_user(browser, demo, "chutich", size)
    page = context.new_page()
    page.goto(demo.server.url + "/")
    waiting = page.locator("[data-section=to-sign] .todo__count")
    assert int(waiting.inner_text()) >= 4
    badge = page.locator("#sign-count")
    expect(badge).to_have_text(waiting.inner_text())
    expect(page.locator("[data-section=to-sign] .todo__item").first).to_contain_text("Hỏa tốc")
    page.locator(".tab[data-tab=to-sign]").click()
    expect(page.locator(".doclist .docitem").first).to_contain_text("Hỏa tốc")
    page.screenshot(path=screenshot_path(f"app-queue-chutich-{size}"), full_page=True)
    page.locator(".tab[data-tab=dashboard]").click()
    expect(page.locator("h1")).to_be_visible()
    page.screenshot(path=screenshot_path(f"app-dashboard-chutich-{size}"), full_page=True)
    page.locator(".tab[data-tab=me]").click()
    for name in ("Khóa truy cập của bạn", "Nơi bạn đang đăng nhập", "Thông báo", "Vắng mặt"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    page.screenshot(path=screenshot_path(f"app-me-chutich-{size}"), full_page=True)
    # A page below a destination: a back link to it, and (phones) no tab bar over its actions.
    page.goto(demo.server.url + "/account/passkeys")
    back = page.locator(".backlink")
    expect(back).to_be_visible()
    assert back.get_attribute("href") == "/me"
    if size != "ipad-landscape":
        expect(page.locator(".tabbar")).to_be_hidden()
    back.click()
    page.wait_for_url("**/me")
    context.close()


def test_three_taps_from_opening_the_app_to_a_signed_document(browser: Browser, demo: Demo) -> None:
    context = browser.new_context(viewport=SIZES["phone"], is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    page = context.new_page()
    Authenticator(context, page)
    page.goto(demo.link)
    page.fill("#passkey-name", "iPhone")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(demo.server.url + "/")

    taps = 0

    def tap(locator: object) -> None:
        nonlocal taps
        taps += 1
        locator.click()  # type: ignore[attr-defined]

    page.goto(demo.server.url + "/?source=pwa")  # the installed app's start URL
    first = page.locator("[data-section=to-sign] .todo__item").first
    subject = first.locator(".todo__subject").inner_text()
    tap(first)
    wait_until(
        page,
        "() => { const i = document.querySelector('.page img');"
        " return i && i.complete && i.naturalWidth > 0; }",
    )
    tap(page.get_by_role("button", name="Ký số"))
    tap(page.locator("#confirm-sheet").get_by_role("button", name="Xác nhận bằng khóa truy cập"))
    page.wait_for_url("**/documents/*?signed=1", timeout=30_000)
    expect(page.locator(".sigcheck")).to_contain_text("Đã kiểm tra: hợp lệ")
    expect(page.locator("h1, .dochead__subject").first).to_contain_text(subject[:20])
    assert taps == 3
    context.close()
