"""The leader signs on the move, in a real Chromium at phone and iPad sizes: the "Chờ ký" queue
(Hỏa tốc first), the reader with its sticky bar, the confirmation sheet, the passkey (DevTools
virtual authenticator) — tapped twice, signed once — and the signed PDF checked by the signing
library and by poppler's pdfsig; then a second draft returned with a comment.

The server runs in its own process so that it loads PKCS#11 with this test's SoftHSM tokens."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from backend.core.models import User
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.identity import users
from backend.signing_flow import keyring
from backend.signing_flow.tables import DocumentComment
from backend.web.app import create_app
from signing import serve_dev_services, verify_pdf
from tests.backend.identity.conftest import new_session, seed_world
from tests.backend.signing_flow.conftest import make_draft, resources_of
from tests.conftest import free_port, make_settings, run_async
from tests.pwa.test_identity_browser import Authenticator
from tests.support.browser import screenshot_path, wait_until
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki, make_signing_home
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "ipad": {"width": 820, "height": 1180}}


@pytest.fixture(scope="module")
def signing_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signing_home(tmp_path_factory.mktemp("signing-home"))


class Scene:
    def __init__(self, server: ProcessServer, ids: dict[str, int], link: str) -> None:
        self.server, self.ids, self.link = server, ids, link


@pytest.fixture
def scene(tmp_path: Path, sqlite_url: str, redis_url: str, signing_home: Path) -> Iterator[Scene]:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[dict[str, int], str]:
        async with LifespanManager(create_app(settings)) as app:
            world = await seed_world(app, resources_of(app).clock)
            normal = await make_draft(app, world, subject="Báo cáo tình hình kinh tế quý III")
            urgent = await make_draft(app, world, subject="Công điện ứng phó bão số 9", urgency=3)
            res = resources_of(app)
            async with res.sessions() as db, db.begin():
                leader = await db.get_one(User, world.user_ids["leader"])
                issued = await users.invite(db, clock=res.clock, user=leader)
        ids = {"normal": normal, "urgent": urgent, "leader": world.user_ids["leader"]}
        return ids, f"{settings.origin}/enrol/{issued.token}"

    ids, link = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        yield Scene(server, ids, link)
    finally:
        server.stop()


def signed_versions(settings: object, document_id: int) -> list[bytes]:
    async def read() -> list[bytes]:
        assert isinstance(settings, type(settings))
        async with LifespanManager(create_app(settings)) as app:  # type: ignore[arg-type]
            res = resources_of(app)
            async with res.sessions() as db:
                rows = await db.scalars(
                    select(FileVersion.sha256)
                    .join(DocumentFile, DocumentFile.id == FileVersion.file_id)
                    .where(DocumentFile.document_id == document_id)
                    .order_by(FileVersion.version)
                )
                return [await res.blobs.get(sha) for sha in rows]

    return run_async(read())


def check_pdf(settings: object, pdf: bytes, path: Path) -> None:
    async def verify() -> bool:
        pki = keyring.load(settings)  # type: ignore[arg-type]
        async with serve_dev_services(pki=pki) as services:
            report = await verify_pdf(pdf=pdf, trust=pki.trust, http_session=services.http_session)
        return report.ok

    assert run_async(verify())
    path.write_bytes(pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert out.stdout.count("Signature is Valid") == 1, out.stdout


@pytest.mark.parametrize("size", ["phone", "ipad"])
def test_leader_signs_by_passkey_from_the_queue_and_returns_a_draft(
    browser: Browser, scene: Scene, size: str, tmp_path: Path
) -> None:
    context = browser.new_context(
        viewport=SIZES[size], device_scale_factor=2, is_mobile=size == "phone", has_touch=True
    )  # type: ignore[arg-type]
    page: Page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    Authenticator(context, page)
    page.goto(scene.link)
    page.fill("#passkey-name", "iPad của tôi")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(scene.server.url + "/")

    page.get_by_role("link", name="Chờ ký").first.click()
    items = page.locator(".doclist .docitem")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Hỏa tốc")  # most urgent first
    expect(items.first).to_contain_text("Công điện ứng phó bão số 9")
    expect(items.first).to_contain_text("Người soạn: Người specialist")
    expect(page.locator(".signqueue .count")).to_have_text("2")
    page.screenshot(path=screenshot_path(f"signing-queue-{size}"), full_page=True)

    items.first.locator("a").click()
    expect(page.locator(".page img").first).to_be_visible()
    wait_until(
        page,
        "() => { const i = document.querySelector('.page img');"
        " return i && i.complete && i.naturalWidth > 0; }",
    )
    bar = page.locator(".actionbar")
    expect(bar).to_be_in_viewport()
    page.screenshot(path=screenshot_path(f"signing-reader-{size}"))

    page.get_by_role("button", name="Ký số").click()
    sheet = page.locator("#confirm-sheet")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Công điện ứng phó bão số 9")
    expect(sheet.locator(".code")).to_have_text(re.compile(r"^\d{4}$"))
    page.screenshot(path=screenshot_path(f"signing-sheet-{size}"))
    # A double tap on the confirmation: one signature.
    sheet.get_by_role("button", name="Xác nhận bằng khóa truy cập").dblclick()
    page.wait_for_url(f"**/documents/{scene.ids['urgent']}?signed=1", timeout=30_000)
    expect(page.locator(".sigcheck")).to_contain_text("Đã kiểm tra: hợp lệ")
    expect(page.locator(".sigcheck")).to_contain_text("Người leader")
    page.screenshot(path=screenshot_path(f"signing-signed-{size}"), full_page=True)

    versions = signed_versions(scene.server.settings, scene.ids["urgent"])
    assert len(versions) == 2
    check_pdf(scene.server.settings, versions[1], tmp_path / "signed.pdf")

    # The other draft goes back to its author with a comment.
    page.goto(f"{scene.server.url}/sign/{scene.ids['normal']}")
    page.get_by_role("button", name="Trả lại").click()
    page.fill("#return-comment", "Bổ sung số liệu tháng 9.")
    page.locator("#return-sheet").get_by_role("button", name="Trả lại").click()
    page.wait_for_url("**/sign?returned=1")
    expect(page.locator(".notice--ok")).to_contain_text("Đã trả lại dự thảo")
    # A live event refreshes the queue (as the replay of the signing just done may): the notice
    # stays. It used to vanish when the return came within seconds of a signature.
    with page.expect_response(lambda r: "/sign" in r.url and r.request.method == "GET"):
        page.evaluate("htmx.trigger(document.getElementById('live'), 'signing')")
    expect(page.locator(".notice--ok")).to_contain_text("Đã trả lại dự thảo")
    expect(page.locator(".doclist .docitem")).to_have_count(0)
    page.screenshot(path=screenshot_path(f"signing-returned-{size}"))
    context.close()
    assert errors == []
    assert_returned(scene.server.settings, scene.ids["normal"])


def assert_returned(settings: object, document_id: int) -> None:
    async def read() -> tuple[str, list[str]]:
        app_ = create_app(settings)  # type: ignore[arg-type]
        async with LifespanManager(app_) as app, resources_of(app).sessions() as db:
            document = await db.get_one(Document, document_id)
            comments = await db.scalars(
                select(DocumentComment.body).where(DocumentComment.document_id == document_id)
            )
            return document.status, list(comments)

    status, comments = run_async(read())
    assert status == "02"
    assert comments == ["Bổ sung số liệu tháng 9."]


PHONE_NUMBER = "+84912345678"


def sim_scene_for(
    tmp_path: Path, sqlite_url: str, redis_url: str, signing_home: Path, timeout: int
) -> tuple[ProcessServer, dict[str, int], str]:
    """A demo server (the MSSP simulator mounted at /mssp-sim) whose leader has a SIM."""
    port = free_port()
    settings = make_settings(
        tmp_path,
        sqlite_url,
        redis_url,
        base_url=f"http://localhost:{port}",
        demo=True,
        signing_timeout_seconds=timeout,
    )
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[dict[str, int], str]:
        async with LifespanManager(create_app(settings)) as app:
            world = await seed_world(app, resources_of(app).clock)
            document_id = await make_draft(app, world, subject="Quyết định thành lập tổ công tác")
            res = resources_of(app)
            async with res.sessions() as db, db.begin():
                leader = await db.get_one(User, world.user_ids["leader"])
                leader.phone = PHONE_NUMBER
                issued = await users.invite(db, clock=res.clock, user=leader)
        return {"document": document_id}, f"{settings.origin}/enrol/{issued.token}"

    ids, link = run_async(seed())
    return ProcessServer(settings, port).start(), ids, link


def open_sim_sheet(
    browser: Browser, server: ProcessServer, ids: dict[str, int], link: str, size: str
) -> tuple[Page, object]:
    context = browser.new_context(viewport=SIZES[size], device_scale_factor=2, has_touch=True)  # type: ignore[arg-type]
    page = context.new_page()
    Authenticator(context, page)
    page.goto(link)
    page.fill("#passkey-name", "Điện thoại")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(server.url + "/")
    page.goto(f"{server.url}/sign/{ids['document']}")
    page.get_by_role("button", name="Ký số").click()
    page.get_by_role("button", name="Ký bằng SIM (SIM-PKI)").click()
    sheet = page.locator("#sim-sheet")
    expect(sheet).to_be_visible()
    expect(sheet.locator("#sim-status")).to_contain_text("Đang chờ nhập mã PIN", timeout=10_000)
    return page, context


@pytest.mark.parametrize("size", ["phone", "ipad"])
def test_leader_signs_by_sim_confirmed_on_the_virtual_phone(
    browser: Browser,
    tmp_path: Path,
    sqlite_url: str,
    redis_url: str,
    signing_home: Path,
    size: str,
) -> None:
    server, ids, link = sim_scene_for(tmp_path, sqlite_url, redis_url, signing_home, 120)
    try:
        page, context = open_sim_sheet(browser, server, ids, link, size)
        code = page.locator("#sim-code").inner_text()
        page.screenshot(path=screenshot_path(f"signing-sim-sheet-{size}"))
        phone = context.new_page()  # type: ignore[attr-defined]
        phone.goto(f"{server.url}/mssp-sim/phone/{PHONE_NUMBER}")
        expect(phone.locator(".event strong")).to_have_text(code)  # the same control code
        phone.screenshot(path=screenshot_path(f"signing-sim-phone-{size}"))
        phone.fill("input[name=pin]", "1234")
        phone.get_by_role("button", name="Xác nhận").click()
        page.wait_for_url(f"**/documents/{ids['document']}?signed=1", timeout=30_000)
        expect(page.locator(".sigcheck")).to_contain_text("Đã kiểm tra: hợp lệ")
        page.screenshot(path=screenshot_path(f"signing-sim-signed-{size}"), full_page=True)
        versions = signed_versions(server.settings, ids["document"])
        assert len(versions) == 2
        check_pdf(server.settings, versions[1], tmp_path / "sim-signed.pdf")
        context.close()  # type: ignore[attr-defined]
    finally:
        server.stop()


def test_sim_request_cancelled_then_timed_out(
    browser: Browser, tmp_path: Path, sqlite_url: str, redis_url: str, signing_home: Path
) -> None:
    server, ids, link = sim_scene_for(tmp_path, sqlite_url, redis_url, signing_home, 6)
    try:
        page, context = open_sim_sheet(browser, server, ids, link, "phone")
        page.locator("#sim-sheet").get_by_role("button", name="Hủy").click()
        expect(page.locator("#sim-status")).to_contain_text("Đã hủy", timeout=10_000)
        page.screenshot(path=screenshot_path("signing-sim-cancelled-phone"))
        # A new request; nobody answers on the phone: it times out after 6 s.
        page.goto(f"{server.url}/sign/{ids['document']}")
        page.get_by_role("button", name="Ký số").click()
        page.get_by_role("button", name="Ký bằng SIM (SIM-PKI)").click()
        expect(page.locator("#sim-status")).to_contain_text("hết thời gian", timeout=20_000)
        page.screenshot(path=screenshot_path("signing-sim-expired-phone"))
        assert len(signed_versions(server.settings, ids["document"])) == 1
        context.close()  # type: ignore[attr-defined]
    finally:
        server.stop()


def enrolled_page(browser: Browser, link: str, server: ProcessServer, size: str) -> Page:
    context = browser.new_context(viewport=SIZES[size], device_scale_factor=2, has_touch=True)  # type: ignore[arg-type]
    page = context.new_page()
    Authenticator(context, page)
    page.goto(link)
    page.fill("#passkey-name", "Thiết bị")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(server.url + "/")
    return page


@pytest.mark.parametrize("size", ["phone", "ipad"])
def test_batch_of_ten_with_one_confirmation_then_the_clerk_issues_with_seal(
    browser: Browser,
    tmp_path: Path,
    sqlite_url: str,
    redis_url: str,
    signing_home: Path,
    size: str,
) -> None:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[list[int], dict[str, str]]:
        async with LifespanManager(create_app(settings)) as app:
            world = await seed_world(app, resources_of(app).clock)
            ids = [
                await make_draft(app, world, subject=f"Thông báo số {n}", type_code="TB")
                for n in range(10)
            ]
            res = resources_of(app)
            links = {}
            async with res.sessions() as db, db.begin():
                for role in ("leader", "clerk"):
                    person = await db.get_one(User, world.user_ids[role])
                    issued = await users.invite(db, clock=res.clock, user=person)
                    links[role] = f"{settings.origin}/enrol/{issued.token}"
        return ids, links

    _ids, links = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        page = enrolled_page(browser, links["leader"], server, size)
        page.goto(server.url + "/sign")
        boxes = page.locator("input[name=document_id][type=checkbox]")
        expect(boxes).to_have_count(10)
        for index in range(10):
            boxes.nth(index).check()
        page.get_by_role("button", name="Ký các văn bản đã chọn").click()
        sheet = page.locator("#confirm-sheet")
        expect(sheet.locator(".sheet__docs li")).to_have_count(10)
        page.screenshot(path=screenshot_path(f"signing-batch-sheet-{size}"))
        sheet.get_by_role("button", name="Xác nhận bằng khóa truy cập").click()
        expect(sheet.locator(".sheet__status")).to_contain_text("Đã ký 10/10", timeout=60_000)
        expect(sheet.locator(".sheet__results li[data-result=signed]")).to_have_count(10)
        expect(sheet.locator(".sheet__progress")).to_have_attribute("value", "10")
        page.screenshot(path=screenshot_path(f"signing-batch-done-{size}"))
        page.context.close()

        clerk = enrolled_page(browser, links["clerk"], server, size)
        clerk.get_by_role("link", name="Phát hành", exact=True).click()
        expect(clerk.locator(".doclist .docitem")).to_have_count(10)
        clerk.screenshot(path=screenshot_path(f"signing-issue-list-{size}"))
        first = clerk.locator(".doclist .docitem").first
        document_id = int(str(first.get_attribute("data-document-id")))
        first.get_by_role("button", name="Cấp số, đóng dấu và phát hành").click()
        clerk.wait_for_url(f"**/documents/{document_id}?issued=1", timeout=30_000)
        expect(clerk.locator(".dochead__number")).to_contain_text("01/TB-VP")
        expect(clerk.locator(".sigcheck")).to_contain_text("Đã kiểm tra: hợp lệ")
        clerk.screenshot(path=screenshot_path(f"signing-issued-{size}"), full_page=True)
        clerk.context.close()

        versions = signed_versions(settings, document_id)
        assert len(versions) == 3

        async def verify() -> tuple[bool, list[str]]:
            pki = keyring.load(settings)
            async with serve_dev_services(pki=pki) as services:
                report = await verify_pdf(
                    pdf=versions[2], trust=pki.trust, http_session=services.http_session
                )
            return report.ok, [s.signer_name for s in report.signatures]

        ok, signers = run_async(verify())
        assert ok and signers[0] == "Người leader" and len(signers) == 2
        path = tmp_path / "issued.pdf"
        path.write_bytes(versions[2])
        out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
        assert out.stdout.count("Signature is Valid") == 2, out.stdout
    finally:
        server.stop()


def start_session(settings: object, user_id: int) -> str:
    """A session straight into Redis, as the demo's "sign in as" makes one: no passkey yet."""

    async def start() -> str:
        async with LifespanManager(create_app(settings)) as app:  # type: ignore[arg-type]
            session_id, _ = await new_session(app, user_id)
            return session_id

    return run_async(start())


def test_a_leader_without_a_passkey_creates_one_in_the_sheet_and_signs(
    browser: Browser, scene: Scene
) -> None:
    """The first signature of a leader signed in without a passkey (the demo's "sign in as", a
    new device): the sheet creates one with the platform authenticator and signs with it —
    two taps from the reader."""
    settings = scene.server.settings
    context = browser.new_context(viewport=SIZES["phone"], is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    context.add_cookies(
        [
            {
                "name": settings.session_cookie,
                "value": start_session(settings, scene.ids["leader"]),
                "url": scene.server.url,
            }
        ]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    authenticator = Authenticator(context, page)
    page.goto(f"{scene.server.url}/sign/{scene.ids['urgent']}")
    page.get_by_role("button", name="Ký số").click()  # tap 1
    sheet = page.locator("#confirm-sheet")
    expect(sheet).to_contain_text("chưa có khóa truy cập")
    page.screenshot(path=screenshot_path("signing-sheet-no-passkey-phone"))
    sheet.get_by_role("button", name="Tạo khóa truy cập và ký").click()  # tap 2
    page.wait_for_url(f"**/documents/{scene.ids['urgent']}?signed=1", timeout=30_000)
    expect(page.locator(".sigcheck")).to_contain_text("Đã kiểm tra: hợp lệ")
    assert len(authenticator.credentials()) == 1
    page.goto(f"{scene.server.url}/account/passkeys")
    expect(page.locator("#passkey-list .passkey-name")).to_have_text(["Thiết bị ký số"])
    context.close()
    assert errors == []
