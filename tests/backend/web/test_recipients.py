"""The recipient picker's search route (an htmx partial for clerks) and the administrator's list
of agencies, through the app, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from bs4 import BeautifulSoup

from backend.core.clock import SystemClock
from backend.interchange import directory
from tests.backend.identity.conftest import World, resources_of, seed_world, sign_in_as
from tests.backend.interchange.test_directory import PROVINCE
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio
HTMX = {"HX-Request": "true"}


@pytest.fixture
async def world(app: LifespanManager) -> World:
    return await seed_world(app, SystemClock())


async def load_directory(app: LifespanManager) -> None:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        await directory.sync(db, clock=res.clock, rows=PROVINCE, full=True)


def options(response: httpx.Response) -> list[tuple[str, str]]:
    page = BeautifulSoup(response.text, "html.parser")
    return [(str(li["data-field"]), str(li["data-value"])) for li in page.select("li[role=option]")]


async def test_a_clerk_searches_the_directory(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await load_directory(app)
    await sign_in_as(app, client, world.user_ids["clerk"])
    response = await client.get("/recipients", params={"q": "tai chinh"}, headers=HTMX)
    assert response.status_code == 200
    found = options(response)
    # Our province's Sở Tài chính (hosted here) first; every row submits an agency code.
    assert found[0] == ("recipient", "000.00.11.H53")
    assert {field for field, _ in found} == {"recipient"}
    page = BeautifulSoup(response.text, "html.parser")
    first = page.select_one("li[role=option]")
    assert first is not None and first["data-name"] == "Sở Tài chính tỉnh Tây Ninh"
    assert "000.00.11.H53 · Ủy ban nhân dân tỉnh Tây Ninh" in first.get_text(" ", strip=True)
    assert page.select_one("html, body, nav") is None  # a fragment, not a page
    # What is chosen already (the picker sends its chips) is not offered again.
    again = await client.get(
        "/recipients", params={"q": "tai chinh", "recipient": "000.00.11.H53"}, headers=HTMX
    )
    assert ("recipient", "000.00.11.H53") not in options(again)
    assert options(again)[0] == ("recipient", "000.01.11.H53")
    # Nor the clerk's own agency, nor a system code of the axis.
    assert options(await client.get("/recipients", params={"q": "000.00.01.H53"})) == []
    assert options(await client.get("/recipients", params={"q": "he thong quan ly"})) == []


async def test_nothing_found_says_so_in_the_clerks_language(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await load_directory(app)
    await sign_in_as(app, client, world.user_ids["clerk"])
    empty = await client.get("/recipients", params={"q": "zzzz"}, headers=HTMX)
    assert "Không tìm thấy cơ quan nào khớp với “zzzz”." in empty.text
    assert (await client.get("/recipients", params={"q": "t"})).text.strip() == ""
    client.cookies.set("lang", "en", domain="localhost.local")
    english = await client.get("/recipients", params={"q": "zzzz"}, headers=HTMX)
    assert "No agency matches “zzzz”." in english.text


async def test_only_clerks_may_search(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    for role in ("specialist", "leader", "admin"):
        client.cookies.clear()
        await sign_in_as(app, client, world.user_ids[role])
        refused = await client.get("/recipients", params={"q": "tai chinh"}, headers=HTMX)
        assert refused.status_code == 403, role
        assert "Sở Tài chính" not in refused.text


async def test_the_administrator_lists_our_agencies_and_searches_the_directory(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await load_directory(app)
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        gone = PROVINCE[-1].__class__(**{**PROVINCE[-1].__dict__, "deleted": True})
        await directory.sync(db, clock=res.clock, rows=[gone], full=False)
    await sign_in_as(app, client, world.user_ids["admin"])

    def codes(response: httpx.Response) -> list[str]:
        page = BeautifulSoup(response.text, "html.parser")
        return [str(li["data-code"]) for li in page.select("#agency-list li[data-code]")]

    ours = await client.get("/admin/agencies")
    assert codes(ours) == ["000.00.01.H53", "000.00.11.H53"]  # 20 directory rows stay out
    listed = await client.get("/admin/agencies", params={"directory": "1"})
    assert len(codes(listed)) == 18  # and not the two hosted ones
    found = await client.get("/admin/agencies", params={"directory": "1", "q": "Sở Tài chính"})
    assert codes(found) == ["000.00.11.H37", "000.01.11.H53"]
    page = BeautifulSoup(found.text, "html.parser")
    deleted = page.select_one('li[data-code="000.00.11.H37"] .badge')
    assert deleted is not None and deleted.get_text(strip=True) == "Đã bị xóa khỏi danh mục"
    users_page = BeautifulSoup((await client.get("/admin/users")).text, "html.parser")
    assert users_page.select_one('a[href="/admin/agencies"]') is not None
