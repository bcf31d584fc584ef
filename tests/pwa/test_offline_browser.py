"""Offline in a real Chromium: the service worker keeps the documents given to the person (and the
leader's "Chờ ký" queue) for reading on a plane, a progress note written offline is queued in
IndexedDB and sent exactly once when the network is back, and signing out leaves nothing behind.
Controls: without the sync, or after sign-out, the same document is not readable offline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from backend.app import create_app
from backend.identity import sessions
from backend.identity.sessions import SessionLimits
from backend.workflow.tables import TimelineEvent
from tests.backend.identity.conftest import resources_of, seed_world
from tests.backend.signing_flow.conftest import make_draft
from tests.backend.test_offline_manifest import scene
from tests.conftest import free_port, make_settings, run_async
from tests.support.browser import LiveServer, screenshot_path
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
IPAD = {"width": 820, "height": 1180}
SAVED = re.compile(r"^Đang ngoại tuyến — bản lưu lúc \d\d:\d\d$")
USER_CACHES = "(await caches.keys()).filter(k => k.startsWith('eoffice-user-'))"


@dataclass
class Offline:
    server: LiveServer
    settings: object
    ids: dict[str, int]
    sessions: dict[str, str]


@pytest.fixture
def offline(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[Offline]:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")

    async def seed() -> tuple[dict[str, int], dict[str, str]]:
        async with LifespanManager(create_app(settings)) as app:
            world = await seed_world(app, resources_of(app).clock)
            s = await scene(app, world)
            draft = await make_draft(app, world, subject="Công điện ứng phó bão số 9", urgency=3)
            res = resources_of(app)
            found = {}
            for role in ("specialist", "leader"):
                session_id, _ = await sessions.start(
                    res.redis, clock=res.clock, user_id=world.user_ids[role], device="iPad",
                    ip="127.0.0.1",
                    limits=SessionLimits(idle=timedelta(hours=1), absolute=timedelta(hours=2)),
                )  # fmt: skip
                found[role] = session_id
        ids = {"doc": s.lead_doc, "other": s.other_doc, "hop": s.hop, "draft": draft}
        return ids, found

    ids, found = run_async(seed())
    with LiveServer(settings, port) as server:
        yield Offline(server, settings, ids, found)


def signed_in(browser: Browser, o: Offline, role: str, size: dict[str, int]) -> BrowserContext:
    context = browser.new_context(
        viewport=size, device_scale_factor=2, is_mobile=size is PHONE, has_touch=True
    )  # type: ignore[arg-type]
    context.add_cookies([{"name": o.server.settings.session_cookie, "value": o.sessions[role],
                          "url": o.server.url}])  # fmt: skip
    return context


def synced(page: Page, o: Offline) -> None:
    """Open the app; the page asks the service worker to keep this person's documents."""
    page.goto(o.server.url + "/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=10_000)
    page.wait_for_function("() => document.documentElement.dataset.offlineSync === 'done'",
                           timeout=30_000)  # fmt: skip


def kept(page: Page) -> list[str]:
    return list(
        page.evaluate(
            f"""async () => {{
                const names = {USER_CACHES};
                if (!names.length) return [];
                const cache = await caches.open(names[0]);
                return (await cache.keys()).map(r => {{ const u = new URL(r.url);
                                                        return u.pathname + u.search; }});
            }}"""
        )
    )


def images_loaded(page: Page) -> None:
    pages = page.locator(".page img")
    for index in range(pages.count()):
        pages.nth(index).scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=pages.nth(index).element_handle()
        )
    page.evaluate("window.scrollTo(0, 0)")


def progress_notes(o: Offline) -> list[str]:
    async def read() -> list[str]:
        app = LifespanManager(create_app(o.settings))  # type: ignore[arg-type]
        async with app, resources_of(app).sessions() as db:
            rows = await db.scalars(
                select(TimelineEvent.note).where(
                    TimelineEvent.document_id == o.ids["doc"], TimelineEvent.kind == "progress"
                )
            )
            return list(rows)

    return run_async(read())


@pytest.mark.parametrize("size", ["phone", "ipad"])
def test_assigned_document_reads_offline_and_a_note_is_sent_once(
    browser: Browser, offline: Offline, size: str
) -> None:
    o, viewport = offline, PHONE if size == "phone" else IPAD
    context = signed_in(browser, o, "specialist", viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    synced(page, o)
    doc = f"/documents/{o.ids['doc']}"
    stored = kept(page)
    assert doc in stored and "/documents?inbox=viec-cua-toi" in stored
    assert len([u for u in stored if u.startswith(doc + "/pages/")]) == 2
    assert not any(u.startswith(f"/documents/{o.ids['other']}") for u in stored)

    # The list says what can be read offline.
    page.goto(o.server.url + "/documents?inbox=viec-cua-toi")
    expect(page.locator(".docitem--offline .docitem__offline")).to_have_text(
        "Đọc được khi ngoại tuyến"
    )

    # (a) On the plane: the list and the reader come from the device, with the banner.
    context.set_offline(True)
    page.goto(o.server.url + "/documents?inbox=viec-cua-toi")
    expect(page.locator(".docitem--offline")).to_have_count(1)
    assert SAVED.match(page.locator("#offline-banner").inner_text())
    page.screenshot(path=screenshot_path(f"offline-list-{size}"))
    page.goto(o.server.url + doc)
    expect(page.locator("#offline-banner")).to_be_visible()
    assert SAVED.match(page.locator("#offline-banner").inner_text())
    expect(page.locator(".page img")).to_have_count(2)
    images_loaded(page)
    # Completing and returning need the server; the progress note can wait in the queue.
    complete = page.locator('form[action$="/complete"] button[type=submit]')
    expect(complete).to_be_disabled()
    expect(page.locator('form[action$="/complete"] .needs-network')).to_have_text(
        "Cần kết nối mạng"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=screenshot_path(f"offline-reader-{size}"))

    # (b) A progress note written offline waits on the device.
    form = page.locator('form[action$="/progress"]')
    form.locator("textarea[name=note]").fill("Đã đọc trên máy bay, sẽ trả lời trong ngày")
    form.locator("input[name=percent]").fill("60")
    form.locator("button[type=submit]").click()
    expect(page.locator("#outbox-status")).to_have_text("Chờ gửi (1)")
    expect(page.locator(".offline-note")).to_contain_text("Đã lưu trên thiết bị này")
    queued = page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open('eoffice-offline');
            open.onsuccess = () => {
                const all = open.result.transaction('outbox').objectStore('outbox').getAll();
                all.onsuccess = () => { resolve(all.result); open.result.close(); };
            };
        })"""
    )
    assert len(queued) == 1 and dict(queued[0]["fields"])["client_key"] == queued[0]["key"]
    page.locator("#xu-ly").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_path(f"offline-queue-{size}"))
    assert progress_notes(o) == []

    # Back online: sent, the page shows it in the timeline, the indicator clears.
    context.set_offline(False)
    expect(page.locator("#outbox-status")).to_be_hidden(timeout=15_000)
    expect(page.locator("#xu-ly .timeline")).to_contain_text("Đã đọc trên máy bay")
    expect(page.locator("#offline-banner")).to_be_hidden()
    assert progress_notes(o) == ["Đã đọc trên máy bay, sẽ trả lời trong ngày"]

    # The answer got lost on the way (the entry is still on the device): replayed on the next
    # open, the server recognises its key and records nothing new.
    page.evaluate(
        """(entry) => new Promise((resolve) => {
            const open = indexedDB.open('eoffice-offline');
            open.onsuccess = () => {
                const tx = open.result.transaction('outbox', 'readwrite');
                tx.objectStore('outbox').put(entry);
                tx.oncomplete = () => { open.result.close(); resolve(); };
            };
        })""",
        queued[0],
    )
    page.reload()
    expect(page.locator("#outbox-status")).to_be_hidden(timeout=15_000)
    page.wait_for_function("() => document.documentElement.dataset.offlineSync === 'done'")
    assert progress_notes(o) == ["Đã đọc trên máy bay, sẽ trả lời trong ngày"]

    # A page never kept shows the offline page, which lists what can be read.
    context.set_offline(True)
    page.goto(o.server.url + f"/documents/{o.ids['other']}")
    expect(page.locator("[data-offline-page]")).to_be_visible()
    expect(page.locator("#offline-documents a")).to_have_attribute("href", doc)
    context.set_offline(False)
    assert errors == []
    context.close()


def test_sign_out_wipes_the_device_then_the_document_is_gone(
    browser: Browser, offline: Offline
) -> None:
    o = offline
    context = signed_in(browser, o, "specialist", PHONE)
    page = context.new_page()
    synced(page, o)
    assert f"/documents/{o.ids['doc']}" in kept(page)
    # Something still queued from an earlier offline moment goes too.
    page.evaluate(
        """(user) => new Promise((resolve) => {
            const open = indexedDB.open('eoffice-offline', 1);
            open.onupgradeneeded = () => open.result.createObjectStore('outbox', {keyPath: 'key'});
            open.onsuccess = () => {
                const tx = open.result.transaction('outbox', 'readwrite');
                tx.objectStore('outbox').put({key: 'k-1234567890', user: user, url: '/nowhere',
                                              page: '/', created: 1, fields: []});
                tx.oncomplete = () => { open.result.close(); resolve(); };
            };
        })""",
        str(o.ids["hop"]),  # another person's id: never sent, only wiped
    )
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/signin\?reason=signed_out"))
    assert page.evaluate(f"async () => ({USER_CACHES}).length") == 0
    databases = page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)")
    assert "eoffice-offline" not in databases
    context.set_offline(True)
    page.goto(o.server.url + f"/documents/{o.ids['doc']}")
    expect(page.locator("[data-offline-page]")).to_be_visible()
    expect(page.locator(".docview")).to_have_count(0)
    context.close()


def test_control_a_document_not_synced_is_not_there_offline(
    browser: Browser, offline: Offline
) -> None:
    """Control for the tests above: the leader may read the incoming document too and opens it
    online, with the worker in control, but it is not in their offline set (not given to them):
    offline it is not there, while the synced draft is. What (a) reads comes from the sync."""
    o = offline
    context = signed_in(browser, o, "leader", PHONE)
    page = context.new_page()
    synced(page, o)
    page.goto(o.server.url + f"/documents/{o.ids['doc']}")
    expect(page.locator(".page img")).to_have_count(2)
    images_loaded(page)
    expect(page.locator("#offline-banner")).to_be_hidden()
    assert f"/documents/{o.ids['doc']}" not in kept(page)
    context.set_offline(True)
    page.goto(o.server.url + f"/documents/{o.ids['doc']}")
    expect(page.locator("[data-offline-page]")).to_be_visible()
    page.goto(o.server.url + f"/sign/{o.ids['draft']}")
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("[data-sign-button]")).to_be_disabled()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshot_path("offline-sign-phone"))
    context.close()


def test_leader_reads_the_signing_queue_offline_and_cannot_sign(
    browser: Browser, offline: Offline
) -> None:
    o = offline
    context = signed_in(browser, o, "leader", IPAD)
    page = context.new_page()
    synced(page, o)
    context.set_offline(True)
    page.goto(o.server.url + "/sign")
    expect(page.locator(".docitem--offline")).to_have_count(1)
    page.goto(o.server.url + f"/sign/{o.ids['draft']}")
    assert SAVED.match(page.locator("#offline-banner").inner_text())
    images_loaded(page)
    sign = page.locator("[data-sign-button]")
    expect(sign).to_be_disabled()
    expect(page.locator(".actionbar .needs-network")).to_have_text("Ký số cần kết nối mạng")
    page.screenshot(path=screenshot_path("offline-sign-ipad"))
    context.set_offline(False)
    expect(sign).to_be_enabled()
    context.close()
