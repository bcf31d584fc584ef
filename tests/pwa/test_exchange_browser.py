"""The exchange's two screens in a real Chromium, at phone and iPad size: the Sở's clerk opens
"Văn bản đến qua trục" (a document to register, a packet that cannot be taken in), looks at a
document and registers it; the province's clerk follows the sent document per recipient (one
registered, one not yet received, one the axis refused). Screenshots in the test artefacts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from backend.identity import sessions
from backend.identity.sessions import SessionLimits
from backend.interchange import edxml, outbox, statuses
from backend.interchange.vxp import VxpClient
from tests.backend.interchange.conftest import (
    COMMUNE,
    FINANCE,
    PROVINCE,
    SECRETS,
    SYSTEMS,
    axis,
    axis_process,
    clerk_of,
    finance_office,
    issued_document,
    office_settings,
    poll,
    province_office,
    run_queued,
    send,
)
from tests.conftest import free_port, run_async
from tests.support.axis_sim import AxisSimProcess
from tests.support.browser import LiveServer, screenshot_path

pytestmark = pytest.mark.browser
__all__ = ["axis", "axis_process"]  # the simulator fixtures, shared with the exchange's tests

PHONE = {"width": 390, "height": 844}
IPAD = {"width": 820, "height": 1180}
SAMPLE = Path(__file__).parents[1] / "backend/interchange/samples/edoc_update.edxml"


class Scene:
    def __init__(
        self, sender: LiveServer, receiver: LiveServer, document_id: int, ids: dict[str, str]
    ) -> None:
        self.sender, self.receiver, self.document_id, self.session_ids = (
            sender,
            receiver,
            document_id,
            ids,
        )


@pytest.fixture
def scene(
    tmp_path: Path, sqlite_template: Path, redis_url: str, axis: AxisSimProcess
) -> Iterator[Scene]:
    sender_port, receiver_port = free_port(), free_port()
    sender_settings = replace(
        office_settings(tmp_path, sqlite_template, redis_url, axis, "province"),
        base_url=f"http://localhost:{sender_port}",
    )
    receiver_settings = replace(
        office_settings(tmp_path, sqlite_template, redis_url, axis, "finance"),
        base_url=f"http://localhost:{receiver_port}",
    )

    async def seed() -> tuple[int, dict[str, str]]:
        province = province_office(sender_settings)
        finance = finance_office(receiver_settings)
        sender, receiver = await anext(province), await anext(finance)
        try:
            document_id = await issued_document(sender)
            await send(sender, document_id, FINANCE, COMMUNE, "000.99.99.H53")
            await run_queued(sender, outbox.SEND_JOB)
            # A packet with no PDF in it: kept, but it cannot be taken in.
            sample = edxml.parse_document(SAMPLE.read_bytes())
            odd = replace(
                sample,
                sender=replace(sample.sender, organ_id=PROVINCE),
                recipients=(replace(sample.recipients[0], organ_id=FINANCE),),
            )
            client = VxpClient(
                base_url=axis.api_url,
                system_id=SYSTEMS["province"],
                secret=SECRETS[SYSTEMS["province"]],
            )
            await client.send_edoc(
                from_code=PROVINCE, message_type="edoc", data=edxml.build_document(odd)
            )
            await client.aclose()
            await poll(receiver)
            await run_queued(receiver, statuses.SEND_STATUS_JOB)
            await poll(sender)
            found = {}
            for name, office in (("sender", sender), ("receiver", receiver)):
                async with office.res.sessions() as db:
                    clerk = await clerk_of(office, db)
                found[name], _ = await sessions.start(
                    office.res.redis,
                    clock=office.res.clock,
                    user_id=clerk.id,
                    device="browser",
                    ip="127.0.0.1",
                    limits=SessionLimits(idle=timedelta(hours=1), absolute=timedelta(hours=2)),
                )
            return document_id, found
        finally:
            await finance.aclose()  # type: ignore[attr-defined]
            await province.aclose()  # type: ignore[attr-defined]

    document_id, ids = run_async(seed())
    with (
        LiveServer(sender_settings, sender_port) as s,
        LiveServer(receiver_settings, receiver_port) as r,
    ):
        yield Scene(s, r, document_id, ids)


def signed_in(
    browser: Browser, server: LiveServer, session_id: str, viewport: dict[str, int]
) -> BrowserContext:
    context = browser.new_context(viewport=viewport, is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    context.add_cookies(
        [{"name": server.settings.session_cookie, "value": session_id, "url": server.url}]
    )
    return context


def test_the_inbox_and_the_tracking_at_phone_and_ipad_size(browser: Browser, scene: Scene) -> None:
    errors: list[str] = []
    for size_name, viewport in (("phone", PHONE), ("ipad", IPAD)):
        context = signed_in(browser, scene.receiver, scene.session_ids["receiver"], viewport)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{scene.receiver.url}/axis/inbox")
        items = page.locator(".axisinbox .docitem")
        expect(items).to_have_count(2)
        expect(items.first).to_contain_text("12/UBND-KT")
        expect(items.last).to_contain_text("Không tiếp nhận được")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=screenshot_path(f"axis-inbox-{size_name}"), full_page=True)
        items.first.locator("a").click()
        expect(page.locator(".dochead__number")).to_contain_text("12/UBND-KT")
        expect(page.locator(".files")).to_contain_text("cv-12.pdf")
        expect(page.get_by_role("button", name="Vào sổ (cấp số đến)")).to_be_visible()
        expect(page.get_by_role("button", name="Trả lại (02)")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=screenshot_path(f"axis-received-{size_name}"), full_page=True)
        if size_name == "ipad":
            page.get_by_role("button", name="Vào sổ (cấp số đến)").click()
            expect(page.locator(".dochead__den")).to_contain_text("1")
        assert errors == []
        context.close()

        context = signed_in(browser, scene.sender, scene.session_ids["sender"], viewport)
        page = context.new_page()
        page.goto(f"{scene.sender.url}/documents/{scene.document_id}")
        rows = page.locator("#axis-tracking tbody tr")
        expect(rows).to_have_count(3)
        expect(page.locator(f'#axis-tracking tr[data-recipient="{FINANCE}"]')).to_contain_text(
            "01 · Đã đến"
        )
        expect(page.locator(f'#axis-tracking tr[data-recipient="{COMMUNE}"]')).to_contain_text(
            "Đã gửi, chưa đến"
        )
        expect(page.locator('#axis-tracking tr[data-recipient="000.99.99.H53"]')).to_contain_text(
            "Gửi lỗi"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        # For the element's picture: the sticky bars would cover its top.
        page.evaluate(
            "document.querySelectorAll('.topbar, .dochead')"
            ".forEach(e => { e.style.position = 'static'; })"
        )
        page.locator("#axis-tracking").screenshot(
            path=screenshot_path(f"axis-tracking-{size_name}")
        )
        page.goto(f"{scene.sender.url}/axis/sent?loc=gui-loi")
        expect(page.locator(".tracktable tbody tr")).to_have_count(1)
        page.screenshot(path=screenshot_path(f"axis-sent-{size_name}"), full_page=True)
        context.close()
