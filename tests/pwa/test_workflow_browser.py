"""On an iPad: the leader's dashboard and a document's handling section render without
horizontal scrolling, with the SVG charts and the timeline visible; screenshots for review."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from backend import db, organisations, users
from backend.clock import SystemClock
from backend.documents.tables import Document
from backend.identity import sessions
from backend.identity.sessions import SessionLimits
from backend.models import Role, User
from backend.workflow import assignments
from backend.workflow.assignments import Actor, Party, Plan
from tests.conftest import free_port, make_settings, run_async
from tests.support.browser import LiveServer, screenshot_path

pytestmark = pytest.mark.browser
IPAD = {"width": 820, "height": 1180}


async def seed(url: str, redis_url: str) -> tuple[int, str]:
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
                s, clock=clock, agency=agency, username="lanhdao", full_name="Nguyễn Văn An",
                roles={Role.LEADER},
            )  # fmt: skip
            specialist = await users.create_user(
                s, clock=clock, agency=agency, username="cv", full_name="Trần Thị Bình",
                roles={Role.SPECIALIST}, unit=unit,
            )  # fmt: skip
            first = 0
            for n, subject in enumerate(("Về việc triển khai Đề án 06 năm 2026",
                                         "Báo cáo tình hình kinh tế - xã hội quý I",
                                         "Kế hoạch kiểm tra công vụ")):  # fmt: skip
                document = Document(agency_id=agency.id, direction="incoming", type_code="CV",
                                    status="03", subject=subject, urgency=3 - n,
                                    created_at=clock.now(), signature_check={})  # fmt: skip
                s.add(document)
                await s.flush()
                first = first or document.id
                if n < 2:
                    await assignments.assign(
                        s, clock=clock, actor=Actor(leader, device="iPad · Safari"),
                        document=document, plan=Plan(
                            lead=Party(user_id=specialist.id),
                            deadline=date.today() + timedelta(days=3),
                            direction="Chủ trì, tham mưu văn bản trả lời.",
                        ),
                    )  # fmt: skip
            leader_id = leader.id
        async with db.sessionmaker(engine)() as s, s.begin():
            hop = (await assignments.get_assignment(s, 1))[0]
            person = await s.get_one(User, hop.user_id)
            await assignments.report_progress(
                s, clock=clock, actor=Actor(person, device="iPhone · Safari"), assignment=hop,
                note="Đã xin ý kiến Sở Tài chính", percent=40,
            )  # fmt: skip
        client = aioredis.Redis.from_url(redis_url)
        session_id, _ = await sessions.start(
            client, clock=clock, user_id=leader_id, device="iPad", ip="127.0.0.1",
            limits=SessionLimits(idle=timedelta(hours=1), absolute=timedelta(hours=2)),
        )  # fmt: skip
        await client.aclose()
        return first, session_id
    finally:
        await engine.dispose()


@pytest.fixture
def server(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[LiveServer]:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    with LiveServer(settings, port) as live:
        yield live


def test_leader_reads_handling_and_dashboard_on_an_ipad(
    browser: Browser, server: LiveServer, sqlite_url: str, redis_url: str
) -> None:
    document_id, session_id = run_async(seed(sqlite_url, redis_url))
    context = browser.new_context(viewport=IPAD, is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    context.add_cookies([{"name": server.settings.session_cookie, "value": session_id,
                          "url": server.url}])  # fmt: skip
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/documents/{document_id}")
    expect(page.locator("#xu-ly .timeline__step")).to_have_count(2)
    expect(page.locator("#xu-ly")).to_contain_text("Báo cáo tiến độ")
    expect(page.locator("#xu-ly")).to_contain_text("40%")
    assert page.evaluate("document.documentElement.scrollWidth") <= IPAD["width"]
    page.locator("#xu-ly").screenshot(path=screenshot_path("workflow-handling-ipad"))

    page.goto(f"{server.url}/dashboard")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("svg.chart a")).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth") <= IPAD["width"]
    page.screenshot(path=screenshot_path("workflow-dashboard-ipad"), full_page=True)
    assert errors == []
    context.close()
