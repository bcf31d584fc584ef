"""Identity test fixtures: an app on a controllable clock, a seeded agency with one person per
role (and an administrator of another agency), and ways to sign them in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from backend import organisations
from backend.core.clock import Clock, FixedClock
from backend.core.models import AuditEntry, Role, User
from backend.core.settings import Settings
from backend.identity import sessions, users
from backend.runtime.resources import Resources
from backend.web.views.auth import session_limits
from tests.support.authenticator import SoftAuthenticator
from tests.support.lifespan import LifespanManager

ORIGIN = "http://localhost:8000"
ROLES = [r.value for r in Role]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def app(settings: Settings, clock: FixedClock) -> AsyncIterator[LifespanManager]:
    from backend.web.app import create_app

    async with LifespanManager(create_app(settings, clock=clock)) as manager:
        yield manager


def browser_like(http: httpx.AsyncClient) -> httpx.AsyncClient:
    # What a browser adds to same-origin fetches and form posts.
    http.headers["Origin"] = ORIGIN
    http.headers["Sec-Fetch-Site"] = "same-origin"
    http.headers["User-Agent"] = "Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) Safari/605.1"
    return http


@pytest.fixture
async def client(app: LifespanManager) -> AsyncIterator[httpx.AsyncClient]:
    async with app.client() as http:
        yield browser_like(http)


def resources_of(app: LifespanManager) -> Resources:
    res: Resources = app.state["resources"]
    return res


@dataclass(frozen=True)
class World:
    agency_id: int
    unit_id: int
    other_agency_id: int
    user_ids: dict[str, int]  # role name (and "other_admin") → user id


@pytest.fixture
async def world(app: LifespanManager, clock: FixedClock) -> World:
    return await seed_world(app, clock)


async def seed_world(app: LifespanManager, clock: Clock) -> World:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        agency = await organisations.create_agency(
            db,
            clock=clock,
            code="000.00.01.H53",
            name="Văn phòng UBND tỉnh Tây Ninh",
            short_name="VP",
        )
        unit = await organisations.create_unit(
            db, clock=clock, agency=agency, name="Phòng Kinh tế", short_name="KT"
        )
        other = await organisations.create_agency(
            db,
            clock=clock,
            code="000.00.11.H53",
            name="Sở Tài chính tỉnh Tây Ninh",
            short_name="STC",
        )
        ids: dict[str, int] = {}
        for role in Role:
            person = await users.create_user(
                db,
                clock=clock,
                agency=agency,
                username=role.value.replace("_", ""),
                full_name=f"Người {role.value}",
                title=f"Chức vụ {role.value}",
                roles={role},
                unit=unit if role in {Role.UNIT_HEAD, Role.SPECIALIST} else None,
            )
            ids[role.value] = person.id
        outsider = await users.create_user(
            db,
            clock=clock,
            agency=other,
            username="otheradmin",
            full_name="Quản trị STC",
            roles={Role.ADMIN},
        )
        ids["other_admin"] = outsider.id
    return World(agency_id=agency.id, unit_id=unit.id, other_agency_id=other.id, user_ids=ids)


async def new_session(app: LifespanManager, user_id: int) -> tuple[str, str]:
    """A session straight into Redis (the passkey ceremony has its own tests), as the demo's
    "sign in as" makes one: its cookie value and its ref."""
    res = resources_of(app)
    session_id, info = await sessions.start(
        res.redis,
        clock=res.clock,
        limits=session_limits(res.settings),
        user_id=user_id,
        device="test",
        ip="127.0.0.1",
    )
    return session_id, info.ref


async def sign_in_as(app: LifespanManager, http: httpx.AsyncClient, user_id: int) -> str:
    """`http` signed in as `user_id` (a `new_session`); returns the session's ref."""
    session_id, ref = await new_session(app, user_id)
    http.cookies.set(
        resources_of(app).settings.session_cookie, session_id, domain="localhost.local"
    )
    return ref


async def audit_actions(app: LifespanManager) -> list[str]:
    async with resources_of(app).sessions() as db:
        return list(await db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def invite(app: LifespanManager, user_id: int) -> str:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        person = await db.get_one(User, user_id)
        issued = await users.invite(db, clock=res.clock, user=person)
    return issued.token


async def enrol(
    http: httpx.AsyncClient, token: str, authenticator: SoftAuthenticator
) -> httpx.Response:
    options = await http.post(f"/enrol/{token}/options", headers={"Accept": "application/json"})
    assert options.status_code == 200, options.text
    credential = authenticator.create(options.json())
    return await http.post(
        f"/enrol/{token}",
        json={"credential": credential, "name": "iPad của tôi"},
        headers={"Accept": "application/json"},
    )


async def signin_options(http: httpx.AsyncClient) -> dict[str, object]:
    response = await http.post("/signin/options", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    options: dict[str, object] = response.json()
    return options


async def post_assertion(http: httpx.AsyncClient, assertion: dict[str, object]) -> httpx.Response:
    return await http.post("/signin", json=assertion, headers={"Accept": "application/json"})
