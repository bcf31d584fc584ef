"""Server-side sessions: cookie attributes, idle and absolute expiry on a controlled clock,
signing out (here and everywhere), the sessions page, and Redis restarting under a session."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from backend.core.clock import FixedClock
from backend.identity import sessions
from backend.web.views.auth import session_limits
from tests.backend.identity.conftest import (
    World,
    audit_actions,
    browser_like,
    enrol,
    invite,
    resources_of,
    sign_in_as,
)
from tests.conftest import RedisServer, make_settings
from tests.support.authenticator import SoftAuthenticator
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_idle_session_expires_and_says_so(
    app: LifespanManager, client: httpx.AsyncClient, world: World, clock: FixedClock
) -> None:
    await sign_in_as(app, client, world.user_ids["leader"])
    idle = timedelta(minutes=resources_of(app).settings.session_idle_minutes)
    clock.advance(idle - timedelta(minutes=1))
    assert (await client.get("/account/sessions")).status_code == 200  # activity resets idle
    clock.advance(idle - timedelta(minutes=1))
    assert (await client.get("/account/sessions")).status_code == 200
    clock.advance(idle + timedelta(seconds=1))
    response = await client.get("/account/sessions")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Faccount%2Fsessions&reason=expired"
    page = await client.get(response.headers["location"])
    assert "Phiên đăng nhập của bạn đã kết thúc" in page.text


async def test_absolute_lifetime_ends_even_a_busy_session(
    app: LifespanManager, client: httpx.AsyncClient, world: World, clock: FixedClock
) -> None:
    await sign_in_as(app, client, world.user_ids["clerk"])
    limits = session_limits(resources_of(app).settings)
    step = limits.idle - timedelta(minutes=5)
    elapsed = timedelta()
    while elapsed + step < limits.absolute:
        clock.advance(step)
        elapsed += step
        assert (await client.get("/")).status_code == 200
    clock.advance(limits.absolute - elapsed + timedelta(seconds=1))
    response = await client.get("/account/passkeys")
    assert response.status_code == 303
    assert "reason=expired" in response.headers["location"]


async def test_sign_out_ends_only_this_session(
    app: LifespanManager, world: World, client: httpx.AsyncClient
) -> None:
    async with app.client() as other:
        browser_like(other)
        await sign_in_as(app, client, world.user_ids["leader"])
        await sign_in_as(app, other, world.user_ids["leader"])
        response = await client.post("/signout")
        assert response.status_code == 303
        assert (await client.get("/account/sessions")).status_code == 303
        assert (await other.get("/account/sessions")).status_code == 200
    assert (await audit_actions(app))[-1] == "session.ended"


async def test_sign_out_everywhere(
    app: LifespanManager, world: World, client: httpx.AsyncClient
) -> None:
    async with app.client() as other:
        browser_like(other)
        await sign_in_as(app, client, world.user_ids["leader"])
        await sign_in_as(app, other, world.user_ids["leader"])
        assert (await client.post("/signout/everywhere")).status_code == 303
        assert (await other.get("/account/sessions")).status_code == 303
        assert (await client.get("/account/sessions")).status_code == 303


async def test_sessions_page_lists_devices_and_ends_one(
    app: LifespanManager, world: World, client: httpx.AsyncClient
) -> None:
    await sign_in_as(app, client, world.user_ids["specialist"])
    async with app.client() as other:
        browser_like(other)
        other_ref = await sign_in_as(app, other, world.user_ids["specialist"])
        page = BeautifulSoup((await client.get("/account/sessions")).text, "html.parser")
        items = page.select("#session-list li")
        assert len(items) == 2
        assert "thiết bị này" in page.get_text()
        ended = await client.post(f"/account/sessions/{other_ref}/end")
        assert ended.status_code == 303
        assert (await other.get("/account/sessions")).status_code == 303
    # Someone else's session cannot be ended from my page.
    await sign_in_as(app, other, world.user_ids["leader"])


async def test_cannot_end_another_persons_session(
    app: LifespanManager, world: World, client: httpx.AsyncClient
) -> None:
    async with app.client() as other:
        browser_like(other)
        victim = await sign_in_as(app, other, world.user_ids["leader"])
        await sign_in_as(app, client, world.user_ids["specialist"])
        assert (await client.post(f"/account/sessions/{victim}/end")).status_code == 404
        assert (await other.get("/account/sessions")).status_code == 200


async def test_sign_in_issues_a_new_session_id(
    app: LifespanManager, world: World, client: httpx.AsyncClient
) -> None:
    authenticator = SoftAuthenticator()
    await enrol(client, await invite(app, world.user_ids["leader"]), authenticator)
    first = client.cookies.get("eoffice_session")
    options = (await client.post("/signin/options")).json()
    response = await client.post("/signin", json=authenticator.get(options))
    assert response.status_code == 200
    second = client.cookies.get("eoffice_session")
    assert first and second and first != second
    # The old id is dead.
    async with app.client() as stale:
        stale.cookies.set("eoffice_session", first, domain="localhost.local")
        assert (await stale.get("/account/sessions")).status_code == 303


async def test_redis_restart_sends_people_to_sign_in_with_a_clear_message(
    app: LifespanManager, world: World, client: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    await sign_in_as(app, client, world.user_ids["leader"])
    assert (await client.get("/account/sessions")).status_code == 200
    redis_server.stop()
    # While it is down: public pages work, personal ones say the session store is unavailable.
    assert (await client.get("/offline")).status_code == 200
    down = await client.get("/account/sessions")
    assert down.status_code == 503
    assert "tạm thời không phản hồi" in down.text
    redis_server.start()
    response = await client.get("/account/sessions")
    assert response.status_code == 303
    assert "reason=expired" in response.headers["location"]
    assert 'eoffice_session=""' in response.headers["set-cookie"]
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert "máy chủ vừa khởi động lại" in page.text
    home = await client.get("/")
    assert home.status_code == 200


async def test_https_cookie_is_host_prefixed_and_secure(
    tmp_path: Path, sqlite_url: str, redis_url: str, world: World
) -> None:
    from backend.web.app import create_app

    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url="https://localhost")
    assert settings.session_cookie == "__Host-eoffice_session"
    manager = LifespanManager(create_app(settings))
    async with manager, manager.client(base_url="https://localhost") as http:
        http.headers["Origin"] = "https://localhost"
        token = await invite(manager, world.user_ids["leader"])
        authenticator = SoftAuthenticator(rp_id="localhost", origin="https://localhost")
        enrolled = await enrol(http, token, authenticator)
        assert enrolled.status_code == 200, enrolled.text
    cookie = enrolled.headers["set-cookie"]
    assert cookie.startswith("__Host-eoffice_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie


async def test_sessions_store_only_hashes_of_ids(
    app: LifespanManager, world: World, client: httpx.AsyncClient
) -> None:
    ref = await sign_in_as(app, client, world.user_ids["leader"])
    cookie = client.cookies.get("eoffice_session")
    assert cookie is not None and sessions.ref_of(cookie) == ref
    keys = {k.decode() for k in await resources_of(app).redis.keys("session:*")}
    assert keys == {f"session:{ref}"}
