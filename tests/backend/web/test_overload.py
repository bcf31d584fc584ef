"""When every database connection stays busy past the pool timeout, people get a clear 503 with
Retry-After, not a 500."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.requests import Request
from starlette.routing import Route

from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_pool_exhaustion_is_a_503_with_retry_after(
    app: LifespanManager, client: httpx.AsyncClient
) -> None:
    async def busy(request: Request) -> None:
        raise PoolTimeoutError("QueuePool limit of size 10 overflow 20 reached")

    app.app.router.routes.append(Route("/busy", busy))
    page = await client.get("/busy")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert "Hệ thống đang quá tải" in page.text
    api = await client.get("/busy", headers={"Accept": "application/json"})
    assert api.status_code == 503
