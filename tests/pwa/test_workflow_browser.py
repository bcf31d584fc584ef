"""On an iPad: the leader's dashboard and a document's handling section render without
horizontal scrolling, with the SVG charts and the timeline visible. On a phone: the specialist
ticks a step and reports with a photo attached. The office chief's routing form (date and hour)
on both. Screenshots for review."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend import organisations
from backend.core import db
from backend.core.blobs import BlobStore
from backend.core.clock import SystemClock
from backend.core.models import Role, User
from backend.documents.tables import Document
from backend.identity import sessions, users
from backend.identity.sessions import SessionLimits
from backend.workflow import assignments, reports
from backend.workflow.assignments import Actor, Party, Plan
from tests.conftest import free_port, make_settings, run_async
from tests.support.browser import LiveServer, screenshot_path

pytestmark = pytest.mark.browser
IPAD = {"width": 820, "height": 1180}


def unstick(page: Page) -> None:
    """For element screenshots: the sticky header and document head would cover the top of the
    panel in the picture (CSSOM, which the strict CSP allows, unlike an injected style sheet)."""
    page.evaluate(
        "document.querySelectorAll('.topbar, .dochead')"
        ".forEach(e => { e.style.position = 'static'; })"
    )


PHONE = {"width": 390, "height": 844}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


async def seed(url: str, redis_url: str) -> tuple[int, dict[str, str]]:
    from datetime import timedelta

    import redis.asyncio as aioredis

    engine = db.create_engine(url)
    clock = SystemClock()
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            agency = await organisations.create_agency(
                s, clock=clock, code="000.00.01.H53", name="Văn phòng UBND tỉnh", short_name="VP"
            )
            unit = await organisations.create_unit(
                s, clock=clock, agency=agency, name="Phòng Kinh tế", short_name="KT"
            )
            leader = await users.create_user(
                s,
                clock=clock,
                agency=agency,
                username="lanhdao",
                full_name="Nguyễn Văn An",
                roles={Role.LEADER},
            )
            specialist = await users.create_user(
                s,
                clock=clock,
                agency=agency,
                username="cv",
                full_name="Trần Thị Bình",
                roles={Role.SPECIALIST},
                unit=unit,
            )
            chief = await users.create_user(
                s,
                clock=clock,
                agency=agency,
                username="cvp",
                full_name="Lê Hoàng Cường",
                title="Chánh Văn phòng",
                roles={Role.OFFICE_CHIEF},
            )
            first = 0
            for n, subject in enumerate(
                (
                    "Về việc triển khai Đề án 06 năm 2026",
                    "Báo cáo tình hình kinh tế - xã hội quý I",
                    "Kế hoạch kiểm tra công vụ",
                )
            ):
                document = Document(
                    agency_id=agency.id,
                    direction="incoming",
                    type_code="CV",
                    status="03",
                    subject=subject,
                    urgency=3 - n,
                    created_at=clock.now(),
                    signature_check={},
                )
                s.add(document)
                await s.flush()
                first = first or document.id
                if n < 2:
                    await assignments.assign(
                        s,
                        clock=clock,
                        actor=Actor(leader, device="iPad · Safari"),
                        document=document,
                        plan=Plan(
                            lead=Party(user_id=specialist.id),
                            deadline=date.today() + timedelta(days=3),
                            direction="Chủ trì, tham mưu văn bản trả lời.",
                        ),
                    )
            people = {"leader": leader.id, "specialist": specialist.id, "chief": chief.id}
        async with db.sessionmaker(engine)() as s, s.begin():
            hop = (await assignments.get_assignment(s, 1))[0]
            person = await s.get_one(User, hop.user_id)
            actor = Actor(person, device="iPhone · Safari")
            await reports.report_progress(
                s,
                clock=clock,
                blobs=NoFiles(),
                actor=actor,
                assignment=hop,
                report=reports.Report(note="Đã xin ý kiến Sở Tài chính", percent=40),
            )
            await reports.set_milestones(
                s,
                clock=clock,
                actor=actor,
                assignment=hop,
                titles=[
                    "Xin ý kiến Sở Tài chính",
                    "Dự thảo văn bản trả lời",
                    "Trình lãnh đạo phòng",
                    "Trình ký",
                ],
            )
        client = aioredis.Redis.from_url(redis_url)
        found = {}
        for who, user_id in people.items():
            found[who], _ = await sessions.start(
                client,
                clock=clock,
                user_id=user_id,
                device="browser",
                ip="127.0.0.1",
                limits=SessionLimits(idle=timedelta(hours=1), absolute=timedelta(hours=2)),
            )
        await client.aclose()
        return first, found
    finally:
        await engine.dispose()


class NoFiles(BlobStore):
    """The seed's report carries no file."""

    async def put(self, data: bytes) -> str:
        raise AssertionError("no files in the seed")

    async def get(self, sha256: str) -> bytes:
        raise AssertionError("no files in the seed")

    async def exists(self, sha256: str) -> bool:
        return False

    async def ping(self) -> None:
        return None

    async def local_path(self, sha256: str) -> Path:
        raise AssertionError("no files in the seed")


def signed_in(
    browser: Browser, server: LiveServer, session_id: str, viewport: dict[str, int]
) -> BrowserContext:
    context = browser.new_context(viewport=viewport, is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    context.add_cookies(
        [{"name": server.settings.session_cookie, "value": session_id, "url": server.url}]
    )
    return context


@pytest.fixture
def server(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[LiveServer]:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    with LiveServer(settings, port) as live:
        yield live


def test_leader_reads_handling_and_dashboard_on_an_ipad(
    browser: Browser, server: LiveServer, sqlite_url: str, redis_url: str
) -> None:
    document_id, session_ids = run_async(seed(sqlite_url, redis_url))
    context = signed_in(browser, server, session_ids["leader"], IPAD)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/documents/{document_id}")
    expect(page.locator("#xu-ly .timeline__step")).to_have_count(3)
    expect(page.locator("#xu-ly")).to_contain_text("Báo cáo tiến độ")
    expect(page.locator("#xu-ly")).to_contain_text("40%")
    assert page.evaluate("document.documentElement.scrollWidth") <= IPAD["width"]
    unstick(page)
    page.locator("#xu-ly").screenshot(path=screenshot_path("workflow-handling-ipad"))

    page.goto(f"{server.url}/dashboard")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("svg.chart a")).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth") <= IPAD["width"]
    page.screenshot(path=screenshot_path("workflow-dashboard-ipad"), full_page=True)
    assert errors == []
    context.close()


def test_specialist_reports_on_a_phone_and_the_office_chief_routes(
    browser: Browser, server: LiveServer, sqlite_url: str, redis_url: str, tmp_path: Path
) -> None:
    document_id, session_ids = run_async(seed(sqlite_url, redis_url))
    photo = tmp_path / "bien-ban.png"
    photo.write_bytes(PNG)
    errors: list[str] = []

    # The specialist on a phone: the panel, then one step ticked with a photo attached.
    context = signed_in(browser, server, session_ids["specialist"], PHONE)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/documents/{document_id}")
    panel = page.locator("#xu-ly")
    expect(panel.locator("input[name=milestone]")).to_have_count(4)
    expect(panel.locator("#reply-draft")).to_have_attribute(
        "href", f"/drafts/new?reply_to={document_id}"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    unstick(page)
    panel.screenshot(path=screenshot_path("workflow-handling-phone"))
    panel.locator("input[name=milestone]").first.check()
    panel.locator("textarea[name=note]").first.fill("Đã có ý kiến của Sở Tài chính, kèm biên bản.")
    panel.locator("input[name=files]").set_input_files(str(photo))
    panel.get_by_role("button", name="Báo cáo tiến độ").click()
    expect(panel.locator(".timeline__files a")).to_have_text("bien-ban.png")
    expect(panel.locator(".hop__state").first).to_contain_text("25%")
    href = panel.locator(".timeline__files a").get_attribute("href")
    got = page.request.get(f"{server.url}{href}")
    assert (got.status, got.body()) == (200, PNG)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    unstick(page)
    panel.screenshot(path=screenshot_path("workflow-report-phone"))
    context.close()

    # The office chief on an iPad and a phone: route the third document, date and hour.
    for name, viewport in (("ipad", IPAD), ("phone", PHONE)):
        context = signed_in(browser, server, session_ids["chief"], viewport)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/documents/{document_id + 2}")
        expect(page.locator("#assign-form input[type=time]")).to_be_visible()
        expect(page.locator("#forward-form select[name=leader]")).to_contain_text("Nguyễn Văn An")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        unstick(page)
        page.locator("#xu-ly").screenshot(path=screenshot_path(f"workflow-assign-{name}"))
        context.close()
    assert errors == []
