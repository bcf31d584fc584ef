"""The issue's story in a real Chromium: a clerk on a phone photographs three pages into one
incoming document and registers it with its số đến; a leader on an iPad finds it by typing
"quyet dinh" without diacritics and reads it page by page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.core import db
from backend.core.clock import SystemClock
from backend.demo import province
from tests.backend.documents import corpus
from tests.conftest import free_port, make_settings, run_async
from tests.support.browser import LiveServer, screenshot_path, wait_until

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
IPAD = {"width": 820, "height": 1180}


@pytest.fixture
def demo_server(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[LiveServer]:
    port = free_port()
    settings = make_settings(
        tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}", demo=True
    )

    async def load() -> None:
        engine = db.create_engine(sqlite_url)
        try:
            async with db.sessionmaker(engine)() as s, s.begin():
                await province.load(s, clock=SystemClock())
        finally:
            await engine.dispose()

    run_async(load())
    with LiveServer(settings, port) as server:
        yield server


def sign_in_as(page: Page, server: LiveServer, name: str) -> None:
    page.goto(server.url + "/signin")
    page.get_by_role("button", name=f"Đăng nhập với tư cách {name}").click()
    expect(page.locator("h1")).to_contain_text(name)


def no_horizontal_scroll(page: Page) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_clerk_scans_three_photos_and_leader_finds_and_reads_it(
    browser: Browser, demo_server: LiveServer, tmp_path: Path
) -> None:
    photos = []
    for index, fmt, suffix in ((1, "JPEG", "jpg"), (2, "HEIF", "heic"), (3, "PNG", "png")):
        path = tmp_path / f"IMG_000{index}.{suffix}"
        path.write_bytes(corpus.photo(str(index), fmt))
        photos.append(str(path))

    phone = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )  # type: ignore[arg-type]
    page = phone.new_page()
    sign_in_as(page, demo_server, "Đặng Quốc Huy")
    page.get_by_role("link", name="Vào sổ văn bản đến").first.click()
    expect(page.locator("h1")).to_have_text("Vào sổ văn bản đến")
    # The camera input (capture=environment) takes the three photos in page order.
    page.locator('input[name="scan"][capture="environment"]').set_input_files(photos)
    page.get_by_label("Cơ quan ban hành").fill("Ủy ban nhân dân tỉnh Đồng Nai")
    page.get_by_label("Số và ký hiệu").fill("27/QĐ-UBND")
    page.get_by_label("Loại văn bản").select_option("QD")
    page.get_by_label("Trích yếu").fill("Quyết định ban hành Quy chế làm việc của Văn phòng")
    page.get_by_label("Độ khẩn").select_option("3")
    no_horizontal_scroll(page)
    page.screenshot(path=screenshot_path("documents-intake-phone"), full_page=True)
    page.get_by_role("button", name="Vào sổ", exact=True).click()
    expect(page.locator(".notice--ok")).to_contain_text("Đã vào sổ văn bản đến, số đến 1.")
    expect(page.locator(".page img")).to_have_count(3)
    no_horizontal_scroll(page)
    page.screenshot(path=screenshot_path("documents-registered-phone"))
    phone.close()

    ipad = browser.new_context(viewport=IPAD, has_touch=True)  # type: ignore[arg-type]
    page = ipad.new_page()
    sign_in_as(page, demo_server, "Nguyễn Văn An")
    page.get_by_role("searchbox", name="Tìm kiếm văn bản").first.fill("quyet dinh")
    page.get_by_role("searchbox", name="Tìm kiếm văn bản").first.press("Enter")
    results = page.locator(".docitem")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("27/QĐ-UBND")
    expect(results.first).to_contain_text("Hỏa tốc")
    page.screenshot(path=screenshot_path("documents-search-ipad"))
    results.first.click()
    header = page.locator(".dochead")
    expect(header).to_contain_text("Số đến 1")
    pages = page.locator(".page img")
    expect(pages).to_have_count(3)
    for index in range(3):
        pages.nth(index).scroll_into_view_if_needed()
        wait_until(
            page,
            "img => img.complete && img.naturalWidth > 0",
            arg=pages.nth(index).element_handle(),
        )
        # The header stays in view while reading.
        assert header.bounding_box() is not None and header.bounding_box()["y"] < 120  # type: ignore[index]
    no_horizontal_scroll(page)
    page.screenshot(path=screenshot_path("documents-reader-ipad"))
    ipad.close()
