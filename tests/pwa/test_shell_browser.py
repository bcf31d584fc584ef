"""The PWA shell in a real Chromium: layouts, service worker, offline fallback, installability."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, LiveServer, screenshot_path, wait_until

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "phone": {"width": 390, "height": 844},
    "ipad-portrait": {"width": 820, "height": 1180},
    "ipad-landscape": {"width": 1180, "height": 820},
}


def collect_console_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_home_fits_phone_and_ipad_without_horizontal_scrolling(
    browser: Browser, live_server: LiveServer, viewport: str
) -> None:
    context = browser.new_context(
        viewport=VIEWPORTS[viewport],  # type: ignore[arg-type]
        device_scale_factor=2,
        is_mobile=viewport == "phone",
        has_touch=True,
    )
    page = context.new_page()
    errors = collect_console_errors(page)
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").inner_text() == "Văn phòng điện tử"
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= VIEWPORTS[viewport]["width"]
    # Touch targets: the language switch and brand are at least 44 px tall (Apple HIG).
    for selector in (".lang a", ".brand"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["height"] >= 44, selector
    assert page.evaluate("typeof htmx") == "object", "htmx did not load from our origin"
    page.screenshot(path=screenshot_path(f"home-{viewport}"), full_page=True)
    assert errors == []  # no CSP violations, no script errors
    context.close()


def test_english_switch_in_the_browser(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=VIEWPORTS["phone"])  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="EN").click()
    page.wait_for_url(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Electronic office"
    page.get_by_role("link", name="VI").click()
    assert page.locator("h1").inner_text() == "Văn phòng điện tử"
    context.close()


def test_service_worker_takes_control_and_serves_the_offline_fallback(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport=VIEWPORTS["phone"])  # type: ignore[arg-type]
    page = context.new_page()
    errors = collect_console_errors(page)
    page.goto(live_server.url + "/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # the first load is not controlled; clients.claim() covers later ones
    wait_until(page, "!!navigator.serviceWorker.controller", timeout=10)
    cached = page.evaluate(
        """async () => {
            const keys = await caches.keys();
            const cache = await caches.open(keys.find(k => k.startsWith('eoffice-shell-')));
            return (await cache.keys()).map(r => new URL(r.url).pathname);
        }"""
    )
    assert "/offline" in cached and "/static/vendor/htmx.min.js" in cached

    context.set_offline(True)
    page.reload()  # a page seen before comes from the cache
    assert page.locator("h1").inner_text() == "Văn phòng điện tử"
    assert page.locator("#net-status").is_visible()
    page.goto(live_server.url + "/never-visited")
    assert page.locator("[data-offline-page]").is_visible()
    assert page.locator("h1").inner_text() == "Bạn đang ngoại tuyến"
    page.screenshot(path=screenshot_path("offline-phone"), full_page=True)
    context.set_offline(False)
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    context.close()


def test_without_the_service_worker_offline_fails(
    browser: Browser, live_server: LiveServer
) -> None:
    """Control for the test above: the fallback really comes from our worker."""
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    page.goto(live_server.url + "/")
    context.set_offline(True)
    with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
        page.goto(live_server.url + "/never-visited")
    context.close()


def test_chromium_reports_the_app_installable(
    playwright: Playwright, live_server: LiveServer, tmp_path: Path
) -> None:
    # Incognito contexts always report "in-incognito"; a persistent profile is a real install.
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORTS["ipad-portrait"],  # type: ignore[arg-type]
    )
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(live_server.url + "/")
    wait_until(page, "navigator.serviceWorker.controller !== undefined")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = context.new_cdp_session(page)
    errors: list[object] = []
    for _ in range(20):
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        if not errors:
            break
        page.wait_for_timeout(250)
    assert errors == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest")
    assert manifest.get("errors", []) == []
    context.close()
