"""Offline in a real Chromium: the service worker keeps the documents given to the person (and the
leader's "Chờ ký" queue) for reading on a plane, a progress note written offline is queued in
IndexedDB and sent exactly once when the network is back, and signing out leaves nothing behind.
Controls: a document not in the sync, or after sign-out, is not readable offline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from backend.identity import sessions
from backend.identity.sessions import SessionLimits
from backend.web.app import create_app
from backend.workflow.tables import TimelineEvent
from tests.backend.documents.test_offline_manifest import scene
from tests.backend.identity.conftest import resources_of, seed_world
from tests.backend.signing_flow.conftest import make_draft
from tests.conftest import free_port, make_settings, run_async
from tests.support.browser import LiveServer, screenshot_path, wait_until
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
                    res.redis,
                    clock=res.clock,
                    user_id=world.user_ids[role],
                    device="iPad",
                    ip="127.0.0.1",
                    limits=SessionLimits(idle=timedelta(hours=1), absolute=timedelta(hours=2)),
                )
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
    context.add_cookies(
        [{"name": o.server.settings.session_cookie, "value": o.sessions[role], "url": o.server.url}]
    )
    return context


def synced(page: Page, o: Offline) -> None:
    """Open the app; the page asks the service worker to keep this person's documents."""
    page.goto(o.server.url + "/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    wait_until(page, "() => !!navigator.serviceWorker.controller", timeout=10)
    wait_until(page, "() => document.documentElement.dataset.offlineSync === 'done'", timeout=30)


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
        wait_until(
            page,
            "img => img.complete && img.naturalWidth > 0",
            arg=pages.nth(index).element_handle(),
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


def both_sizes(page: Page, name: str, *, show: str = "") -> None:
    """Screenshots on a phone and on an iPad (portrait), without horizontal scrolling."""
    for size, viewport in (("phone", PHONE), ("ipad", IPAD)):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        # A wider screen asks for a larger rendition: offline, the one kept answers for it.
        images_loaded(page)
        if show:
            page.locator(show).evaluate("el => el.scrollIntoView({block: 'center'})")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=screenshot_path(f"{name}-{size}"))
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]


def test_assigned_document_reads_offline_and_a_note_is_sent_once(
    browser: Browser, offline: Offline
) -> None:
    o = offline
    context = signed_in(browser, o, "specialist", PHONE)
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
    both_sizes(page, "offline-list")
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
    both_sizes(page, "offline-reader")

    # (b) A progress note written offline waits on the device.
    form = page.locator('form[action$="/progress"]')
    form.locator("textarea[name=note]").fill("Đã đọc trên máy bay, sẽ trả lời trong ngày")
    form.locator("input[name=percent]").fill("60")
    form.locator("button[type=submit]").click()
    expect(page.locator("#outbox-status")).to_have_text("Chờ gửi (1)")
    expect(page.locator(".offline-note")).to_have_text(
        "Đã lưu trên thiết bị này; sẽ tự gửi khi có mạng trở lại."
        " “Đã đọc trên máy bay, sẽ trả lời trong ngày”"
    )
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
    both_sizes(page, "offline-queue", show=".offline-note")
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
    wait_until(page, "() => document.documentElement.dataset.offlineSync === 'done'")
    assert progress_notes(o) == ["Đã đọc trên máy bay, sẽ trả lời trong ngày"]

    # A page never kept shows the offline page, which lists what can be read.
    context.set_offline(True)
    page.goto(o.server.url + f"/documents/{o.ids['other']}")
    expect(page.locator("[data-offline-page]")).to_be_visible()
    expect(page.locator("#offline-documents a")).to_have_attribute("href", doc)
    page.screenshot(path=screenshot_path("offline-fallback-phone"))
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
    page.locator(".tab[data-tab=me]").click()
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/signin\?reason=signed_out"))
    assert page.evaluate(f"async () => ({USER_CACHES}).length") == 0
    databases = page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)")
    assert "eoffice-offline" not in databases
    context.set_offline(True)
    page.goto(o.server.url + f"/documents/{o.ids['doc']}")
    expect(page.locator("[data-offline-page]")).to_be_visible()
    expect(page.locator(".docview")).to_have_count(0)
    # Not even the name of whoever used the device last (the offline page is cached anonymous).
    expect(page.locator("body")).not_to_contain_text("Người specialist")
    context.close()


def test_leader_reads_the_signing_queue_offline_but_not_other_documents_and_cannot_sign(
    browser: Browser, offline: Offline
) -> None:
    o = offline
    context = signed_in(browser, o, "leader", PHONE)
    page = context.new_page()
    synced(page, o)
    # Control: the leader may read the incoming document too, and opens it online with the
    # worker in control; it is not in their offline set (not given to them), so offline it is
    # not there. What these tests read offline comes from the sync, not from any other cache.
    page.goto(o.server.url + f"/documents/{o.ids['doc']}")
    expect(page.locator(".page img")).to_have_count(2)
    images_loaded(page)
    expect(page.locator("#offline-banner")).to_be_hidden()
    assert f"/documents/{o.ids['doc']}" not in kept(page)
    context.set_offline(True)
    page.goto(o.server.url + f"/documents/{o.ids['doc']}")
    expect(page.locator("[data-offline-page]")).to_be_visible()
    expect(page.locator(".docview")).to_have_count(0)

    page.goto(o.server.url + "/sign")
    expect(page.locator(".docitem--offline")).to_have_count(1)
    page.goto(o.server.url + f"/sign/{o.ids['draft']}")
    assert SAVED.match(page.locator("#offline-banner").inner_text())
    images_loaded(page)
    sign = page.locator("[data-sign-button]")
    expect(sign).to_be_disabled()
    expect(page.locator(".actionbar .needs-network")).to_have_text("Ký số cần kết nối mạng")
    both_sizes(page, "offline-sign")
    context.set_offline(False)
    expect(sign).to_be_enabled()
    expect(page.locator(".actionbar .needs-network")).to_have_count(0)

    # Back online the leader returns the draft: the next sync takes it off the device.
    page.get_by_role("button", name="Trả lại").click()
    page.locator("#return-comment").fill("Đề nghị bổ sung số liệu quý III")
    page.locator("#return-sheet button[type=submit]").click()
    page.wait_for_url(re.compile(r"/sign\?returned=1"))
    assert f"/sign/{o.ids['draft']}" in kept(page)
    answer = page.evaluate(
        """() => new Promise((resolve) => {
            const channel = new MessageChannel();
            channel.port1.onmessage = (event) => resolve(event.data);
            navigator.serviceWorker.controller.postMessage(
                {type: 'sync', force: true, user: document.body.dataset.userId}, [channel.port2]);
        })"""
    )
    assert answer == {"ok": True, "synced": True}
    assert not any(f"/{o.ids['draft']}" in url for url in kept(page))
    assert "/sign" in kept(page)
    context.close()
