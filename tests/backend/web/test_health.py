from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from backend.web.app import create_app
from tests.conftest import free_port, make_settings
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def test_healthz_reports_both_stores_with_latency(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    for store in ("database", "redis", "blobs"):
        assert body[store]["ok"] is True
        assert 0 <= body[store]["latency_ms"] < 5000
    assert body["blobs"]["kind"] == "file"
    assert response.headers["cache-control"] == "no-store"


async def test_healthz_degrades_when_redis_is_gone(tmp_path: Path, sqlite_url: str) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = make_settings(tmp_path, sqlite_url, dead_redis)
    async with LifespanManager(create_app(settings)) as app, app.client() as http:
        response = await http.get("/healthz")
        # The rest of the app keeps serving.
        home = await http.get("/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["redis"] == {"ok": False, "error": "ConnectionError"}
    assert home.status_code == 200


async def test_app_refuses_to_start_on_an_unmigrated_database(
    tmp_path: Path, redis_url: str
) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/empty.db", redis_url)
    with pytest.raises(Exception, match="eoffice migrate"):
        async with LifespanManager(create_app(settings)):
            pass
