"""The clerk chooses where a document goes, in a real Chromium at phone and iPad sizes: types
"tai chinh" into the recipient picker, picks with the keyboard (the form is not sent), closes a
list with Esc, adds a group of communes and a unit, removes a chip, adds an agency with a
single Enter, and issues; the issue carries exactly the chips. Touch targets are at least
44 px and nothing overflows the phone's width. Screenshots go to tests/.artifacts/.

The server runs in its own process so that it loads PKCS#11 with this test's SoftHSM tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from backend.core.audit import AuditEntry
from backend.core.models import Unit, User
from backend.identity import users
from backend.interchange import directory
from backend.signing_flow import keyring
from backend.web.app import create_app
from tests.backend.identity.conftest import browser_like, enrol, invite, seed_world, sign_in_as
from tests.backend.interchange.test_directory import PROVINCE
from tests.backend.signing_flow.conftest import Leader, MemoryKeys, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare
from tests.conftest import free_port, make_settings, run_async
from tests.pwa.test_signing_browser import enrolled_page
from tests.support.authenticator import SoftAuthenticator
from tests.support.browser import screenshot_path
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki, make_signing_home
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.browser
TAP = 44


@pytest.fixture(scope="module")
def signing_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signing_home(tmp_path_factory.mktemp("signing-home"))


def at_least_a_finger(page: Page, selector: str) -> None:
    boxes = page.locator(selector)
    for index in range(boxes.count()):
        box = boxes.nth(index).bounding_box()
        assert box is not None and box["height"] >= TAP, (selector, index, box)


def fits_the_width(page: Page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", ["phone", "ipad"])
def test_the_clerk_picks_recipients_with_keyboard_groups_and_chips_then_issues(
    browser: Browser,
    tmp_path: Path,
    sqlite_url: str,
    redis_url: str,
    signing_home: Path,
    size: str,
) -> None:
    port = free_port()
    # An axis the server is configured for (the packets wait in its outbox: nothing listens).
    settings = make_settings(
        tmp_path,
        sqlite_url,
        redis_url,
        base_url=f"http://localhost:{port}",
        axis_url=f"http://127.0.0.1:{free_port()}/XrdAdapter/adapter",
        axis_system_id="00.53.W00",
        axis_secret="not-a-real-secret",
    )
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[int, str]:
        pki = keyring.load(settings)
        async with LifespanManager(create_app(settings, signing_keys=MemoryKeys(pki))) as app:
            res = resources_of(app)
            world = await seed_world(app, res.clock)
            async with res.sessions() as db, db.begin():
                await directory.sync(db, clock=res.clock, rows=PROVINCE, full=True)
            document_id = await make_draft(app, world, subject="Công văn về quyết toán ngân sách")
            authenticator = SoftAuthenticator(origin=settings.origin)
            async with app.client(settings.origin) as http:
                browser_like(http).headers["Origin"] = settings.origin
                link = await invite(app, world.user_ids["leader"])
                assert (await enrol(http, link, authenticator)).status_code == 200
                http.cookies.clear()
                await sign_in_as(app, http, world.user_ids["leader"])
                leader = Leader(world, http, authenticator)
                tx_id = await prepare(leader, document_id)
                done = await confirm(leader, tx_id, await assertion(leader, tx_id))
                assert done.status_code == 200  # type: ignore[attr-defined]
            async with res.sessions() as db, db.begin():
                clerk = await db.get_one(User, world.user_ids["clerk"])
                issued = await users.invite(db, clock=res.clock, user=clerk)
        return document_id, f"{settings.origin}/enrol/{issued.token}"

    document_id, link = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        page = enrolled_page(browser, link, server, size)
        page.get_by_role("link", name="Phát hành", exact=True).click()
        picker = page.locator(f"#picker-{document_id}")
        box = picker.get_by_role("combobox")
        results = picker.get_by_role("listbox")
        chips = picker.locator(".chip")
        expect(picker.locator("legend")).to_have_text("Nơi nhận")
        expect(picker.locator("[data-status]")).to_have_text("Chưa chọn nơi nhận.")

        # Type; the debounced search answers; ↓ ↓ ↑ Enter picks the first; the form stays.
        box.press_sequentially("tai chinh", delay=40)
        options = results.get_by_role("option")
        expect(options.first).to_contain_text("Sở Tài chính tỉnh Tây Ninh")
        expect(box).to_have_attribute("aria-expanded", "true")
        at_least_a_finger(page, f"#picker-{document_id} [role=option]")
        fits_the_width(page)
        page.screenshot(path=screenshot_path(f"recipients-results-{size}"))
        box.press("ArrowDown")
        box.press("ArrowDown")
        expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        box.press("ArrowUp")
        expect(options.first).to_have_attribute("aria-selected", "true")
        active = options.first.get_attribute("id")
        expect(box).to_have_attribute("aria-activedescendant", str(active))
        box.press("Enter")
        expect(chips).to_have_count(1)
        expect(chips.first).to_contain_text("Sở Tài chính tỉnh Tây Ninh")
        expect(results).to_be_hidden()
        expect(box).to_have_value("")
        assert page.url.endswith("/issue")  # Enter chose; it did not issue

        # Esc closes a list without choosing.
        box.press_sequentially("bo noi", delay=40)
        expect(results.get_by_role("option").first).to_contain_text("Bộ Nội vụ")
        box.press("Escape")
        expect(results).to_be_hidden()
        expect(chips).to_have_count(1)
        box.fill("")

        # A group (one chip for all its members) and a unit of our agency.
        picker.get_by_role("button", name="Tất cả UBND cấp xã").click()
        picker.get_by_role("button", name="Phòng Kinh tế").click()
        expect(chips).to_have_count(3)
        expect(picker.get_by_role("button", name="Phòng Kinh tế", exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(picker.locator("[data-status]")).to_have_text("Đã chọn 5 nơi nhận")
        at_least_a_finger(page, f"#picker-{document_id} .chip")
        at_least_a_finger(page, f"#picker-{document_id} .chip__remove")
        at_least_a_finger(page, f"#picker-{document_id} .picker__group")
        at_least_a_finger(page, f"#picker-{document_id} .picker__unit")

        # Remove the first chip; a single result is chosen with Enter alone.
        picker.get_by_role("button", name="Bỏ Sở Tài chính tỉnh Tây Ninh").click()
        expect(chips).to_have_count(2)
        box.press_sequentially("bo tai chinh", delay=40)
        expect(results.get_by_role("option")).to_have_count(1)
        box.press("Enter")
        expect(chips).to_have_count(3)
        expect(chips.last).to_contain_text("Bộ Tài chính")
        fits_the_width(page)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=screenshot_path(f"recipients-chosen-{size}"), full_page=True)

        page.get_by_role("button", name="Cấp số, đóng dấu và phát hành").click()
        page.wait_for_url(f"**/documents/{document_id}?issued=1", timeout=30_000)
        page.context.close()
    finally:
        server.stop()

    async def sent_to() -> tuple[object, list[int]]:
        app = LifespanManager(create_app(settings))
        async with app, resources_of(app).sessions() as db:
            issued = select(AuditEntry).where(AuditEntry.action == "document.issued")
            entry = await db.scalar(issued)
            units = list(await db.scalars(select(Unit.id)))
        return (entry.detail["send_to"] if entry else None), units

    send_to, unit_ids = run_async(sent_to())
    assert send_to == {
        "agencies": ["000.20.31.H53", "000.20.32.H53", "000.21.32.H53", "000.00.00.G12"],
        "units": unit_ids,
    }
