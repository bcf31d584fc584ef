"""The service worker's half of Web Push in a real Chromium: a push message delivered to the real
service worker through the DevTools protocol (ServiceWorker.deliverPushMessage) shows the
notification the payload describes; a repeat of the same notice id is not shown again; a newer
notice for the same document replaces the older one; a click opens the document's URL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import LiveServer, wait_until

pytestmark = pytest.mark.browser

NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const shown = await registration.getNotifications();
  return shown.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data}));
}"""


def notifications(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate(NOTIFICATIONS)
    return result


def shown_when(page: Page, ready: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """The notifications shown, once `ready` holds (by the clock: a loaded machine's service
    worker takes its time to wake for a push)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = notifications(page)
        if ready(found):
            return found
        page.wait_for_timeout(50)
    raise AssertionError(f"notifications never became ready: {notifications(page)}")


def test_push_message_shows_the_notice_once_and_a_click_opens_the_document(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 820, "height": 1180})
    context.grant_permissions(["notifications"], origin=live_server.url)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.evaluate("navigator.serviceWorker.ready")
    wait_until(page, "!!navigator.serviceWorker.controller")

    cdp = context.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(
            r["registrationId"] for r in event["registrations"] if not r.get("isDeleted")
        ),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 30
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert registrations, "no service worker registration reported"

    def deliver(notice: dict[str, Any]) -> None:
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": live_server.url,
                "registrationId": registrations[-1],
                "data": json.dumps(notice, ensure_ascii=False),
            },
        )

    first = {
        "id": 41, "title": "Văn bản Hỏa tốc: Về việc ứng phó bão số 3",
        "body": "Chủ trì — hạn xử lý 02/03/2026", "url": "/documents/42", "tag": "doc42",
    }  # fmt: skip
    deliver(first)
    [shown] = shown_when(page, lambda n: len(n) == 1)
    assert shown == {
        "title": first["title"],
        "body": first["body"],
        "tag": "doc42",
        "data": {"id": 41, "url": "/documents/42"},
    }

    # A newer notice about the same document (same Topic/tag) replaces the older one…
    deliver({**first, "id": 43, "body": "Phối hợp — hạn xử lý 03/03/2026"})
    shown_when(page, lambda n: len(n) == 1 and n[0]["data"]["id"] == 43)
    # …and a repeat of an id already shown (a worker restarted mid-batch) is not shown again.
    deliver(first)
    deliver({"id": 44, "title": "Thông báo thử", "body": "…", "url": "/", "tag": "test"})
    by_tag = {n["tag"]: n for n in shown_when(page, lambda n: len(n) == 2)}
    assert by_tag["doc42"]["data"]["id"] == 43

    # Click: the real notificationclick listener focuses the app's window and opens the document.
    [worker] = context.service_workers
    worker.evaluate("""async () => {
      const [notification] = await self.registration.getNotifications({tag: "doc42"});
      self.dispatchEvent(new NotificationEvent("notificationclick", {notification}));
    }""")
    # Nobody is signed in here: the document's URL sends the window to sign in, then back to it.
    page.wait_for_url(live_server.url + "/signin?next=%2Fdocuments%2F42", timeout=10_000)
    assert notifications(page) == [by_tag["test"]]  # the clicked one was closed
    context.close()
