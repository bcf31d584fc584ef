"""The dashboard's figures kept between changes: a handling step through the app moves them on
the next look, a change the app was not told about waits for the next generation or the maximum
age, older figures are answered while one refresh runs behind them unless it finishes within
the short wait, and the page's self-refresh gets the figures alone (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from bs4 import BeautifulSoup

from backend.core.clock import FixedClock
from backend.workflow import dashboard_cache
from tests.backend.identity.conftest import World, resources_of, sign_in_as
from tests.backend.workflow.helpers import registered
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


def received_bar(html: str) -> str:
    """The number on the "registered" (03) bar."""
    page = BeautifulSoup(html, "html.parser")
    bars = {
        a["href"].rsplit("=", 1)[1]: a.select_one("text.chart__value").get_text()
        for a in page.select("svg.chart a")
    }
    return bars["03"]


async def test_figures_move_with_the_agency_generation(
    app: LifespanManager,
    client: httpx.AsyncClient,
    world: World,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dashboard_cache, "WAIT_SECONDS", 0)  # as if the refresh took long
    res = resources_of(app)
    first = await registered(app, world.agency_id, subject="Văn bản thứ nhất")
    await sign_in_as(app, client, world.user_ids["leader"])
    assert received_bar((await client.get("/dashboard?year=2026")).text) == "1"

    # A document written straight into SQL (no announcement): the kept figures still answer.
    await registered(app, world.agency_id, subject="Văn bản thứ hai")
    assert received_bar((await client.get("/dashboard?year=2026")).text) == "1"

    # The leader assigns the first one through the app: the generation moves. The next look
    # answers with the kept figures at once and refreshes them behind; the one after is new.
    response = await client.post(
        f"/documents/{first}/assign",
        data={
            "lead": f"u:{world.user_ids['specialist']}",
            "deadline": (clock.now().date() + timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 303
    older = (await client.get("/dashboard?year=2026")).text
    assert received_bar(older) == "1"
    # Older figures ask again shortly (htmx "load delay"); current ones only on events.
    trigger = BeautifulSoup(older, "html.parser").select_one("#figures")["hx-trigger"]
    assert "load delay:2s" in trigger
    await dashboard_cache.settle()
    page = (await client.get("/dashboard?year=2026")).text
    trigger = BeautifulSoup(page, "html.parser").select_one("#figures")["hx-trigger"]
    assert trigger == "document from:#live delay:5s, every 60s"
    assert received_bar(page) == "1"  # the second registered; the first is now assigned (04)
    bars = BeautifulSoup(page, "html.parser").select("svg.chart a text.chart__value")
    assert [b.get_text() for b in bars][:2] == ["1", "1"]
    assert "Số liệu tính lúc" in BeautifulSoup(page, "html.parser").select_one("#as-of").text
    # What the page fetches to refresh itself (on a live event, every minute): the figures alone.
    partial = await client.get("/dashboard?year=2026", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="figures"')
    assert "<html" not in partial.text and received_bar(partial.text) == "1"
    assert partial.headers["vary"] == "HX-Request"

    # The next morning: yesterday's figures answer while today's are computed (overdue work
    # depends on the day).
    clock.set(clock.now() + timedelta(days=1))
    await registered(app, world.agency_id, subject="Văn bản thứ ba")
    client.cookies.clear()
    await sign_in_as(app, client, world.user_ids["leader"])  # the session ended overnight
    assert received_bar((await client.get("/dashboard?year=2026")).text) == "1"
    await dashboard_cache.settle()
    assert received_bar((await client.get("/dashboard?year=2026")).text) == "2"
    assert int(await res.redis.get(f"dashboard-gen:{world.agency_id}") or 0) >= 1


async def test_old_figures_are_refreshed_after_max_age_without_a_change(
    app: LifespanManager,
    client: httpx.AsyncClient,
    world: World,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dashboard_cache, "WAIT_SECONDS", 0)
    await registered(app, world.agency_id)
    await sign_in_as(app, client, world.user_ids["leader"])
    assert received_bar((await client.get("/dashboard?year=2026")).text) == "1"
    await registered(app, world.agency_id, subject="Đến qua trục liên thông")
    clock.set(clock.now() + dashboard_cache.MAX_AGE + timedelta(seconds=1))
    assert clock.now().date() == date(2026, 3, 2)  # the same day: only the age is past
    assert received_bar((await client.get("/dashboard?year=2026")).text) == "1"
    await dashboard_cache.settle()
    assert received_bar((await client.get("/dashboard?year=2026")).text) == "2"

    # A refresh that finishes within WAIT_SECONDS is answered at once (a small agency).
    monkeypatch.setattr(dashboard_cache, "WAIT_SECONDS", 5)
    await registered(app, world.agency_id, subject="Văn bản thứ ba")
    await dashboard_cache.changed(resources_of(app).redis, world.agency_id)
    assert received_bar((await client.get("/dashboard?year=2026")).text) == "3"
