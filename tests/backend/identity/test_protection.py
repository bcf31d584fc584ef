"""CSRF (header-based) and rate limits."""

from __future__ import annotations

import pytest

from backend.core.clock import SystemClock
from backend.core.settings import Settings
from tests.backend.identity.conftest import World, seed_world, sign_in_as
from tests.conftest import make_settings
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://localhost:8000", "Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "none"},
        {},  # neither header: an unsafe request must prove where it comes from
    ],
    ids=[
        "cross-site",
        "same-site",
        "foreign-origin",
        "null-origin",
        "fetch-site-only",
        "none",
        "no-headers",
    ],
)
async def test_cross_site_post_is_refused(
    app: LifespanManager, world: World, headers: dict[str, str]
) -> None:
    async with app.client() as http:
        await sign_in_as(app, http, world.user_ids["leader"])
        response = await http.post("/signout/everywhere", headers=headers)
        assert response.status_code == 403
        assert "giả mạo" in response.text
        # Nothing happened: the session is alive.
        http.headers.update({"Origin": "http://localhost:8000", "Sec-Fetch-Site": "same-origin"})
        assert (await http.get("/account/sessions")).status_code == 200


async def test_same_origin_posts_pass_with_either_header(
    app: LifespanManager, world: World
) -> None:
    for headers in (
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://localhost:8000"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost:8000", "HX-Request": "true"},
    ):
        async with app.client() as http:
            await sign_in_as(app, http, world.user_ids["leader"])
            assert (await http.post("/signout", headers=headers)).status_code == 303


async def test_csrf_refusal_is_json_for_the_api(app: LifespanManager) -> None:
    async with app.client() as http:
        response = await http.post(
            "/api/v1/me", headers={"Origin": "https://evil.example", "Cookie": "a=b"}
        )
    assert response.status_code == 403
    assert response.json()["error"]["status"] == 403


async def test_sign_in_is_rate_limited_per_ip_with_a_vietnamese_message(
    tmp_path: object, sqlite_url: str, redis_url: str
) -> None:
    from pathlib import Path

    from backend.web.app import create_app

    settings: Settings = make_settings(
        Path(str(tmp_path)), sqlite_url, redis_url, rate_limit_per_ip=3
    )
    async with LifespanManager(create_app(settings)) as manager, manager.client() as http:
        http.headers["Origin"] = "http://localhost:8000"
        statuses = [(await http.post("/signin/options")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await http.post("/signin/options", headers={"Accept": "application/json"})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "quá nhiều lần" in refused.json()["error"]["message"]
        html = await http.post("/signin", json={})
        assert html.status_code == 429 and "Vui lòng đợi" in html.text


async def test_enrolment_is_rate_limited_per_link(
    tmp_path: object, sqlite_url: str, redis_url: str
) -> None:
    from pathlib import Path

    from backend.web.app import create_app

    settings = make_settings(Path(str(tmp_path)), sqlite_url, redis_url, rate_limit_per_account=2)
    async with LifespanManager(create_app(settings)) as manager, manager.client() as http:
        statuses = [(await http.get("/enrol/guessed-token")).status_code for _ in range(3)]
        assert statuses == [404, 404, 429]
        # Another link from the same IP still has its own budget.
        assert (await http.get("/enrol/another-token")).status_code == 404


async def test_invitations_are_rate_limited_per_admin(
    tmp_path: object, sqlite_url: str, redis_url: str
) -> None:
    from pathlib import Path

    from backend.web.app import create_app
    from tests.backend.identity.conftest import browser_like

    settings = make_settings(Path(str(tmp_path)), sqlite_url, redis_url, rate_limit_per_account=2)
    async with LifespanManager(create_app(settings)) as manager, manager.client() as http:
        browser_like(http)
        world = await seed_world(manager, SystemClock())
        await sign_in_as(manager, http, world.user_ids["admin"])
        target = world.user_ids["leader"]
        statuses = [
            (await http.post(f"/admin/users/{target}/invitations")).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
