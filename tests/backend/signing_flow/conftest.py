"""Signing-flow fixtures: an agency with one person per role, a dev PKI with the leader's key,
the leader's passkey on a soft authenticator, and drafts waiting in the leader's queue.

In-process tests sign with the dev PKI's keys in memory: the PKCS#11 module can be loaded only
once per process, with one SoftHSM configuration, and the signing library's tests own that.
The PKCS#11 path runs in the server subprocesses of `test_crash.py` and the browser tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from backend.core.clock import FixedClock
from backend.core.settings import Settings
from backend.signing_flow import keyring
from signing import DevPki, InMemoryKey, KeyProvider, make_sample_pdf
from tests.backend.identity.conftest import (
    World,
    browser_like,
    enrol,
    invite,
    resources_of,
    seed_world,
    sign_in_as,
)
from tests.support.authenticator import SoftAuthenticator
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki, make_signing_home


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(scope="session")
def signing_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dev PKI (and SoftHSM tokens) for the session; copied into each test's data dir."""
    return make_signing_home(tmp_path_factory.mktemp("signing-home"))


@dataclass
class MemoryKeys:
    pki: DevPki

    def key(self, username: str) -> KeyProvider:
        if username == keyring.SEAL:
            return InMemoryKey(self.pki.seal_key)
        return InMemoryKey(self.pki.user_key(username))


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str, signing_home: Path) -> Settings:
    from tests.conftest import make_settings

    made = make_settings(tmp_path, database_url, redis_url)
    install_pki(signing_home, made.data_dir)
    return made


@pytest.fixture
async def app(settings: Settings, clock: FixedClock) -> AsyncIterator[LifespanManager]:
    from backend.web.app import create_app

    pki = keyring.load(settings)
    async with LifespanManager(
        create_app(settings, clock=clock, signing_keys=MemoryKeys(pki))
    ) as manager:
        yield manager


@dataclass
class Leader:
    world: World
    http: httpx.AsyncClient
    authenticator: SoftAuthenticator


@pytest.fixture
async def leader(app: LifespanManager, world: World) -> AsyncIterator[Leader]:
    authenticator = SoftAuthenticator()
    async with app.client() as http:
        browser_like(http)
        token = await invite(app, world.user_ids["leader"])
        enrolled = await enrol(http, token, authenticator)
        assert enrolled.status_code == 200, enrolled.text
        http.cookies.clear()
        await sign_in_as(app, http, world.user_ids["leader"])
        yield Leader(world, http, authenticator)


@pytest.fixture
async def world(app: LifespanManager, clock: FixedClock) -> World:
    return await seed_world(app, clock)


async def make_draft(
    app: LifespanManager,
    world: World,
    *,
    subject: str = "Kế hoạch phòng chống lụt bão 2026",
    urgency: int = 0,
    type_code: str = "KH",
    pdf: bytes | None = None,
) -> int:
    """The specialist drafts an outgoing document for the leader, through the app."""
    origin = resources_of(app).settings.origin
    async with app.client(origin) as http:
        browser_like(http).headers["Origin"] = origin
        await sign_in_as(app, http, world.user_ids["specialist"])
        response = await http.post(
            "/drafts",
            data={
                "type_code": type_code,
                "subject": subject,
                "recipients": "Các sở, ban, ngành",
                "urgency": str(urgency),
                "signer_id": str(world.user_ids["leader"]),
            },
            files={"pdf": ("du-thao.pdf", pdf or make_sample_pdf(pages=2), "application/pdf")},
        )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("sent=")[1])


__all__ = ["Leader", "make_draft", "resources_of"]
