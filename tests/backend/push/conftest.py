"""Push tests: the identity suite's app and people, on a clock the test moves, with the
reminders' periodic job driven by hand and a local push service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.core.settings import Settings
from tests.backend.identity.conftest import app, client, resources_of, world  # noqa: F401
from tests.backend.workflow.conftest import clock  # noqa: F401
from tests.conftest import make_settings
from tests.support.lifespan import LifespanManager
from tests.support.push_service import PushService, push_service


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        redis_url,
        scheduler=False,
        push_max_attempts=2,
        push_retry_seconds=60,
        push_claim_seconds=2,
        holidays="2026-03-05",
    )


@pytest.fixture
async def service(app: LifespanManager) -> AsyncIterator[PushService]:  # noqa: F811
    async with push_service(resources_of(app).push.keys.public_key) as running:
        yield running
