"""Invitations (single use, 72 h, revocable), the administrator's users page, demo shortcuts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backend.core.clock import FixedClock
from backend.core.models import Invitation, User
from tests.backend.identity.conftest import (
    World,
    audit_actions,
    browser_like,
    enrol,
    invite,
    resources_of,
    seed_world,
    sign_in_as,
)
from tests.conftest import make_settings
from tests.support.authenticator import SoftAuthenticator
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_an_invitation_works_once(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    token = await invite(app, world.user_ids["specialist"])
    assert (await enrol(client, token, SoftAuthenticator())).status_code == 200
    client.cookies.clear()
    again = await client.get(f"/enrol/{token}")
    assert again.status_code == 410
    assert "đã được sử dụng" in again.text
    assert (await client.post(f"/enrol/{token}/options")).status_code == 410


async def test_an_expired_invitation_is_refused(
    app: LifespanManager, client: httpx.AsyncClient, world: World, clock: FixedClock
) -> None:
    token = await invite(app, world.user_ids["specialist"])
    clock.advance(timedelta(hours=71, minutes=59))
    assert (await client.get(f"/enrol/{token}")).status_code == 200
    clock.advance(timedelta(minutes=2))
    response = await client.get(f"/enrol/{token}")
    assert response.status_code == 410
    assert "hết hạn" in response.text


async def test_admin_creates_a_user_invites_revokes_and_reinvites(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_as(app, client, world.user_ids["admin"])
    page = await client.post(
        "/admin/users",
        data={
            "full_name": "Trần Văn Bình",
            "username": "tvbinh",
            "title": "Chuyên viên",
            "unit_id": str(world.unit_id),
            "roles": ["specialist", "clerk"],
            "phone": "0912 345 678",
        },
    )
    assert page.status_code == 200, page.text
    html = BeautifulSoup(page.text, "html.parser")
    link_input = html.select_one("#invitation-link")
    assert link_input is not None
    link = str(link_input["value"])
    assert link.startswith("http://localhost:8000/enrol/")
    token = link.rsplit("/", 1)[1]
    async with resources_of(app).sessions() as db:
        person = await db.scalar(select(User).where(User.username == "tvbinh"))
        assert person is not None and {r.value for r in person.roles} == {"specialist", "clerk"}
        invitation = await db.scalar(select(Invitation).where(Invitation.user_id == person.id))
    assert invitation is not None
    # The link appears once; the page afterwards only offers to revoke it.
    listing = await client.get("/admin/users")
    assert token not in listing.text
    assert f"/admin/invitations/{invitation.id}/revoke" in listing.text
    assert (await client.post(f"/admin/invitations/{invitation.id}/revoke")).status_code == 303
    async with app.client() as newcomer:
        browser_like(newcomer)
        refused = await newcomer.get(f"/enrol/{token}")
        assert refused.status_code == 410 and "thu hồi" in refused.text
    # Recovery: a new link; it works.
    again = await client.post(f"/admin/users/{person.id}/invitations")
    new_link = BeautifulSoup(again.text, "html.parser").select_one("#invitation-link")
    assert new_link is not None
    async with app.client() as newcomer:
        browser_like(newcomer)
        response = await enrol(
            newcomer, str(new_link["value"]).rsplit("/", 1)[1], SoftAuthenticator()
        )
        assert response.status_code == 200
        assert "Trần Văn Bình" in (await newcomer.get("/")).text
    actions = await audit_actions(app)
    for action in ("user.created", "invitation.created", "invitation.revoked", "invitation.used"):
        assert action in actions


async def test_admin_ends_all_sessions_of_a_user(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    async with app.client() as leader:
        browser_like(leader)
        await sign_in_as(app, leader, world.user_ids["leader"])
        await sign_in_as(app, client, world.user_ids["admin"])
        response = await client.post(f"/admin/users/{world.user_ids['leader']}/sessions/end")
        assert response.status_code == 303
        assert (await leader.get("/account/passkeys")).status_code == 303
    assert (await audit_actions(app))[-1] == "session.ended"


async def test_create_user_errors_are_shown_in_vietnamese(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_as(app, client, world.user_ids["admin"])
    response = await client.post(
        "/admin/users", data={"full_name": "A", "username": "Bad Name!", "roles": "leader"}
    )
    assert response.status_code == 422
    assert "Tên đăng nhập" in response.text


async def test_demo_mode_offers_sign_in_as_each_demo_user(
    tmp_path: Path, sqlite_url: str, redis_url: str
) -> None:
    from backend.core.clock import SystemClock
    from backend.demo import province
    from backend.web.app import create_app

    settings = make_settings(tmp_path, sqlite_url, redis_url, demo=True)
    manager = LifespanManager(create_app(settings))
    async with manager, manager.client() as http:
        browser_like(http)
        async with resources_of(manager).sessions() as db, db.begin():
            await province.load(db, clock=SystemClock())
        await seed_world(manager, SystemClock())  # a real (non-demo) user too
        page = BeautifulSoup((await http.get("/signin")).text, "html.parser")
        assert page.select_one(".demo-banner") is not None
        buttons = [b.get_text(strip=True) for b in page.select(".demo-signin button")]
        assert len(buttons) == len(province.DEMO_USERS)
        assert "Đăng nhập với tư cách Nguyễn Văn An" in buttons
        response = await http.post("/demo/signin/chutich")
        assert response.status_code == 303
        home = await http.get("/")
        assert "Xin chào, Nguyễn Văn An" in home.text
        assert "Chủ tịch UBND tỉnh" in home.text
        http.cookies.clear()
        refused = await http.post("/demo/signin/leader")
        assert refused.status_code == 403


async def test_without_demo_mode_the_demo_routes_do_not_exist(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.post("/demo/signin/leader")).status_code == 404
    page = BeautifulSoup((await client.get("/signin")).text, "html.parser")
    assert page.select_one(".demo-signin") is None
    assert page.select_one(".demo-banner") is None
    starlette_app = app.app
    assert "demo_signin" not in {getattr(r, "name", "") for r in starlette_app.routes}
