"""The author's "Dự thảo của tôi" in a real Chromium at phone size (and a look at iPad size):
the leader returns a draft with a comment, the author reads it, uploads a revised file and sends
it again, and the draft is back in the leader's "Chờ ký"; a leader's comment reaches the author's
open page live (SSE through Redis → htmx refresh)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from backend.core.models import User
from backend.documents import catalogue
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.identity import users
from backend.web.app import create_app
from signing import make_sample_pdf
from tests.backend.identity.conftest import browser_like, seed_world, sign_in_as
from tests.backend.signing_flow.conftest import make_draft, resources_of
from tests.conftest import free_port, make_settings, run_async
from tests.pwa.test_identity_browser import Authenticator
from tests.support.browser import screenshot_path
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki, make_signing_home
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
IPAD = {"width": 820, "height": 1180}
PDF = "application/pdf"
SUBJECT = "Báo cáo tình hình kinh tế quý III"


@pytest.fixture(scope="module")
def signing_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signing_home(tmp_path_factory.mktemp("signing-home"))


class Scene:
    def __init__(self, server: ProcessServer, document_id: int, links: dict[str, str]) -> None:
        self.server, self.document_id, self.links = server, document_id, links


@pytest.fixture
def scene(tmp_path: Path, sqlite_url: str, redis_url: str, signing_home: Path) -> Iterator[Scene]:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[int, dict[str, str]]:
        async with LifespanManager(create_app(settings)) as app:
            world = await seed_world(app, resources_of(app).clock)
            document_id = await make_draft(app, world, subject=SUBJECT)
            res = resources_of(app)
            links = {}
            async with res.sessions() as db, db.begin():
                for role in ("leader", "specialist"):
                    person = await db.get_one(User, world.user_ids[role])
                    issued = await users.invite(db, clock=res.clock, user=person)
                    links[role] = f"{settings.origin}/enrol/{issued.token}"
        return document_id, links

    document_id, links = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        yield Scene(server, document_id, links)
    finally:
        server.stop()


def enrolled(browser: Browser, scene: Scene, role: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )  # type: ignore[arg-type]
    page = context.new_page()
    Authenticator(context, page)
    page.goto(scene.links[role])
    page.fill("#passkey-name", "Điện thoại")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(scene.server.url + "/")
    return context, page


def main_versions(settings: object, document_id: int) -> list[int]:
    async def read() -> list[int]:
        app_ = create_app(settings)  # type: ignore[arg-type]
        async with LifespanManager(app_) as app, resources_of(app).sessions() as db:
            rows = await db.scalars(
                select(FileVersion.page_count)
                .join(DocumentFile, DocumentFile.id == FileVersion.file_id)
                .where(DocumentFile.document_id == document_id, DocumentFile.kind == "main")
                .order_by(FileVersion.version)
            )
            return list(rows)

    return run_async(read())


def test_returned_draft_revised_and_sent_again_at_phone_size(
    browser: Browser, scene: Scene, tmp_path: Path
) -> None:
    errors: list[str] = []
    leader_context, leader = enrolled(browser, scene, "leader")
    leader.on("pageerror", lambda exc: errors.append(str(exc)))
    leader.goto(f"{scene.server.url}/sign/{scene.document_id}")
    leader.get_by_role("button", name="Trả lại").click()
    leader.fill("#return-comment", "Bổ sung số liệu tháng 9.")
    leader.locator("#return-sheet").get_by_role("button", name="Trả lại").click()
    leader.wait_for_url("**/sign?returned=1")
    expect(leader.locator(".doclist .docitem")).to_have_count(0)

    author_context, author = enrolled(browser, scene, "specialist")
    author.on("pageerror", lambda exc: errors.append(str(exc)))
    author.get_by_role("link", name="Dự thảo", exact=True).click()
    item = author.locator(".doclist .docitem").first
    expect(item).to_contain_text(SUBJECT)
    expect(item).to_contain_text("Bị trả lại")
    expect(item).to_contain_text("Bổ sung số liệu tháng 9.")
    author.screenshot(path=screenshot_path("drafts-mine-returned-phone"), full_page=True)

    item.locator("a").click()
    expect(author.locator(".returnnote")).to_contain_text("Bổ sung số liệu tháng 9.")
    expect(author.locator("#comments")).to_contain_text("Bổ sung số liệu tháng 9.")
    author.screenshot(path=screenshot_path("drafts-returned-phone"), full_page=True)

    # The leader's new comment, from the documents reader, reaches the author's open page
    # (SSE → htmx refresh).
    leader.goto(f"{scene.server.url}/documents/{scene.document_id}")
    expect(leader.locator("#comments")).to_contain_text("Bổ sung số liệu tháng 9.")
    leader.fill("#comment-body", "Lưu ý số liệu của Sở Tài chính.")
    leader.get_by_role("button", name="Gửi ý kiến").click()
    expect(leader.locator("#comment-list")).to_contain_text("Lưu ý số liệu của Sở Tài chính.")
    expect(leader.locator("#comment-body")).to_have_value("")
    expect(author.locator("#comment-list")).to_contain_text(
        "Lưu ý số liệu của Sở Tài chính.", timeout=15_000
    )

    revised = tmp_path / "bao-cao-sua.pdf"
    revised.write_bytes(make_sample_pdf(pages=3, title="Bao cao (sua)"))
    author.set_input_files("#pdf", str(revised))
    author.fill("#note", "Đã bổ sung số liệu tháng 9.")
    author.get_by_role("button", name="Gửi lại để ký").click()
    author.wait_for_url(f"**/drafts/{scene.document_id}?resent=1")
    expect(author.locator(".notice--ok")).to_contain_text("Đã gửi lại dự thảo cho người ký.")
    expect(author.locator(".dochead")).to_contain_text("Chờ ký")
    expect(author.locator(".files li")).to_have_count(2)  # the revised file and the old one
    author.screenshot(path=screenshot_path("drafts-resent-phone"), full_page=True)

    leader.goto(f"{scene.server.url}/sign")
    queued = leader.locator(".doclist .docitem")
    expect(queued).to_have_count(1)
    expect(queued.first).to_contain_text(SUBJECT)
    queued.first.locator("a").click()
    expect(leader.locator(".page")).to_have_count(3)  # the revised file is what is shown
    expect(leader.locator("#comments")).to_contain_text("Đã bổ sung số liệu tháng 9.")
    leader.locator(".actionbar").get_by_role("link", name="Ý kiến").click()
    expect(leader.locator("#comment-body")).to_be_in_viewport()
    leader.screenshot(path=screenshot_path("drafts-leader-comments-phone"))
    assert main_versions(scene.server.settings, scene.document_id) == [2, 3]

    author.set_viewport_size(IPAD)
    author.goto(f"{scene.server.url}/drafts")
    expect(author.locator(".doclist .docitem").first).to_contain_text("Chờ ký")
    author.screenshot(path=screenshot_path("drafts-mine-ipad"), full_page=True)
    leader_context.close()
    author_context.close()
    assert errors == []


def test_issue_screen_lists_attachments_with_their_signature_status(
    browser: Browser, tmp_path: Path, sqlite_url: str, redis_url: str, signing_home: Path
) -> None:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[int, str]:
        async with LifespanManager(create_app(settings)) as app:
            res = resources_of(app)
            world = await seed_world(app, res.clock)
            async with app.client(settings.origin) as http:
                browser_like(http).headers["Origin"] = settings.origin
                await sign_in_as(app, http, world.user_ids["specialist"])
                created = await http.post(
                    "/drafts",
                    data={
                        "type_code": "QD",
                        "subject": "Quyết định phê duyệt kế hoạch",
                        "urgency": "0",
                        "signer_id": str(world.user_ids["leader"]),
                    },
                    files=[
                        ("pdf", ("qd.pdf", make_sample_pdf(pages=1), "application/pdf")),
                        ("attachments", ("phu-luc-1.pdf", make_sample_pdf(), PDF)),
                        ("attachments", ("phu-luc-2.pdf", make_sample_pdf(), PDF)),
                    ],
                )
            document_id = int(created.headers["location"].split("sent=")[1])
            async with res.sessions() as db, db.begin():
                # The leader's signature has its own browser tests: here the screen after it.
                (await db.get_one(Document, document_id)).status = catalogue.Status.SIGNED
                clerk = await db.get_one(User, world.user_ids["clerk"])
                issued = await users.invite(db, clock=res.clock, user=clerk)
        return document_id, f"{settings.origin}/enrol/{issued.token}"

    document_id, link = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        scene = Scene(server, document_id, {"clerk": link})
        context, page = enrolled(browser, scene, "clerk")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.get_by_role("link", name="Phát hành", exact=True).click()
        item = page.locator(".doclist .docitem").first
        expect(item.locator(".attachments li")).to_have_count(2)
        expect(item).to_contain_text("chưa ký: cơ quan ký số khi phát hành")
        page.screenshot(path=screenshot_path("issue-attachments-phone"), full_page=True)
        item.get_by_role("button", name="Cấp số, đóng dấu và phát hành").click()
        page.wait_for_url(f"**/documents/{document_id}?issued=1", timeout=30_000)
        # The documents reader loads its comments panel (a clerk has no live connection).
        expect(page.locator("#comments")).to_contain_text("Chưa có ý kiến nào.")
        page.goto(f"{server.url}/issue")
        issued = page.locator(".issued .docitem").first
        expect(issued.locator(".attachments li")).to_have_count(3)
        expect(issued.locator(".sigcheck--valid")).to_have_count(3)
        page.screenshot(path=screenshot_path("issue-issued-phone"), full_page=True)
        page.set_viewport_size(IPAD)
        page.screenshot(path=screenshot_path("issue-issued-ipad"), full_page=True)
        context.close()
        assert errors == []
    finally:
        server.stop()
