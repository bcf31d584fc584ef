"""A SIM-PKI batch in a real Chromium at phone size: the leader selects four drafts in "Chờ ký"
and chooses the SIM; the server sends one request at a time (one pending SIM request per person)
and the batch view follows each document live over SSE. On the simulator's virtual phone, in a
second page, the leader checks each control code against the one on screen: refuses the first
on the phone (that document fails, the batch goes on), confirms the second, then cancels the
rest while the third waits for the PIN — a PIN entered on the phone after that signs nothing.
The signed PDF is checked by the signing library and by pdfsig; the others keep their single
version."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.core.models import User
from backend.core.settings import Settings
from backend.identity import users
from backend.web.app import create_app
from tests.backend.identity.conftest import World, seed_world
from tests.backend.signing_flow.conftest import make_draft, resources_of
from tests.conftest import free_port, make_settings, run_async
from tests.pwa.test_signing_browser import (
    PHONE_NUMBER,
    SIZES,
    check_pdf,
    enrolled_page,
    signed_versions,
)
from tests.support.browser import screenshot_path
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki, make_signing_home
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signing_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signing_home(tmp_path_factory.mktemp("signing-home"))


def waiting_row(page: Page, position: int) -> str:
    """The control code of the batch's `position`-th document once it waits for the PIN."""
    row = page.locator(".simbatch__row").nth(position)
    expect(row).to_have_attribute("data-status", "waiting_pin", timeout=20_000)
    code = row.locator(".simbatch__code")
    expect(code).to_be_visible()
    text = code.inner_text()
    assert text.isdigit() and len(text) == 4
    return text


def answer_on_phone(phone: Page, url: str, code: str, action: str) -> None:
    phone.goto(url)
    request = phone.locator(".request")
    expect(request).to_have_count(1)  # one pending request at a time
    expect(request.locator(".event strong")).to_have_text(code)  # the same code on both screens
    if action == "confirm":
        request.locator("input[name=pin]").fill("1234")
        request.get_by_role("button", name="Xác nhận").click()
    else:
        request.get_by_role("button", name="Huỷ").click()


async def another_draft(settings: Settings, world: World) -> None:
    async with LifespanManager(create_app(settings)) as app:
        await make_draft(app, world, subject="Giấy mời họp giao ban")


def test_sim_batch_one_confirmation_per_document_on_the_virtual_phone(
    browser: Browser, tmp_path: Path, sqlite_url: str, redis_url: str, signing_home: Path
) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}", demo=True
    )
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[list[int], str, World]:
        async with LifespanManager(create_app(settings)) as app:
            world = await seed_world(app, resources_of(app).clock)
            ids = [
                await make_draft(
                    app, world, subject=f"Thông báo lịch công tác tuần {n}", type_code="TB"
                )
                for n in range(1, 5)
            ]
            res = resources_of(app)
            async with res.sessions() as db, db.begin():
                leader = await db.get_one(User, world.user_ids["leader"])
                leader.phone = PHONE_NUMBER
                issued = await users.invite(db, clock=res.clock, user=leader)
        return ids, f"{settings.origin}/enrol/{issued.token}", world

    ids, link, world = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        page = enrolled_page(browser, link, server, "phone")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/sign")
        boxes = page.locator("input[name=document_id][type=checkbox]")
        expect(boxes).to_have_count(4)
        boxes.nth(0).check()
        # A specialist sends another draft meanwhile: the list refreshes itself (SSE), the tick
        # stays.
        run_async(another_draft(settings, world))
        expect(page.locator(".signqueue .count")).to_have_text("5", timeout=15_000)
        expect(boxes).to_have_count(5)
        expect(page.locator(f"input[name=document_id][value='{ids[0]}']")).to_be_checked()
        for document_id in ids[1:]:
            page.locator(f"input[name=document_id][value='{document_id}']").check()
        page.get_by_role("button", name="Ký qua SIM").click()
        sheet = page.locator("#sim-batch-sheet")
        expect(sheet).to_be_visible(timeout=20_000)  # the first request is already sent
        rows = sheet.locator(".simbatch__row")
        expect(rows).to_have_count(4)
        order = [int(str(rows.nth(n).get_attribute("data-document"))) for n in range(4)]
        assert sorted(order) == sorted(ids)
        first = waiting_row(page, 0)
        expect(page.locator(".signqueue .count")).to_have_text("5")
        expect(rows.nth(1)).to_have_attribute("data-status", "queued")
        expect(rows.nth(1)).to_contain_text("Chờ gửi")
        page.screenshot(path=screenshot_path("signing-sim-batch-waiting-phone"))

        phone = page.context.new_page()
        phone.set_viewport_size(SIZES["phone"])
        phone_url = f"{server.url}/mssp-sim/phone/{PHONE_NUMBER}"
        answer_on_phone(phone, phone_url, first, "cancel")  # refused on the phone
        expect(rows.nth(0)).to_have_attribute("data-status", "failed", timeout=20_000)
        expect(rows.nth(0).locator(".simbatch__error")).not_to_be_empty()

        second = waiting_row(page, 1)  # the batch went on
        answer_on_phone(phone, phone_url, second, "confirm")
        expect(rows.nth(1)).to_have_attribute("data-status", "completed", timeout=20_000)
        expect(rows.nth(1)).to_contain_text("Đã ký")

        third = waiting_row(page, 2)
        page.screenshot(path=screenshot_path("signing-sim-batch-progress-phone"))
        sheet.get_by_role("button", name="Hủy các văn bản còn lại").click()
        expect(rows.nth(2)).to_have_attribute("data-status", "cancelled", timeout=10_000)
        expect(rows.nth(3)).to_have_attribute("data-status", "cancelled")
        expect(sheet.locator(".sheet__status")).to_contain_text("Đã ký 1/4")
        expect(sheet.locator(".sheet__progress")).to_have_attribute("value", "1")
        expect(sheet.get_by_role("button", name="Xong")).to_be_visible()
        page.screenshot(path=screenshot_path("signing-sim-batch-done-phone"))
        page.set_viewport_size(SIZES["ipad"])  # the same sheet on an iPad
        page.screenshot(path=screenshot_path("signing-sim-batch-done-ipad"))
        page.set_viewport_size(SIZES["phone"])
        # The MSSP protocol cannot withdraw a request: a PIN entered now is simply not used.
        answer_on_phone(phone, phone_url, third, "confirm")
        page.wait_for_timeout(2500)
        expect(rows.nth(2)).to_have_attribute("data-status", "cancelled")

        sheet.get_by_role("button", name="Xong").click()
        expect(page.locator(".doclist .docitem")).to_have_count(4)  # what is left to sign
        assert errors == []
        page.context.close()

        for position, document_id in enumerate(order):
            versions = signed_versions(settings, document_id)
            if position == 1:
                assert len(versions) == 2
                check_pdf(settings, versions[1], tmp_path / f"sim-batch-{position}.pdf")
            else:
                assert len(versions) == 1
    finally:
        server.stop()
