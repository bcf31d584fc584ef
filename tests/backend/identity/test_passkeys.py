"""Passkey enrolment and sign-in over HTTP, with a software authenticator: the real py_webauthn
verification runs on real Redis and both SQL databases."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from backend.core.models import Invitation, Passkey
from tests.backend.identity.conftest import (
    World,
    audit_actions,
    enrol,
    invite,
    post_assertion,
    resources_of,
    signin_options,
)
from tests.support.authenticator import SoftAuthenticator
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def enrolled(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> SoftAuthenticator:
    authenticator = SoftAuthenticator()
    response = await enrol(client, await invite(app, world.user_ids["leader"]), authenticator)
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return authenticator


async def test_enrolment_registers_a_passkey_uses_the_invitation_and_signs_in(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    token = await invite(app, world.user_ids["leader"])
    page = await client.get(f"/enrol/{token}")
    assert page.status_code == 200
    assert "Người leader" in page.text
    response = await enrol(client, token, SoftAuthenticator())
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/"}
    cookie = response.headers["set-cookie"]
    assert "eoffice_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = await client.get("/")
    assert "Xin chào, Người leader" in home.text
    assert "Văn phòng UBND tỉnh Tây Ninh" in home.text
    assert "Lãnh đạo" in (await client.get("/me")).text  # the roles, under "Tôi"
    async with resources_of(app).sessions() as db:
        passkey = await db.scalar(select(Passkey))
        invitation = await db.scalar(select(Invitation))
    assert passkey is not None and passkey.user_id == world.user_ids["leader"]
    assert passkey.name == "iPad của tôi"
    assert invitation is not None and invitation.used_at is not None
    actions = await audit_actions(app)
    assert actions[-3:] == ["invitation.created", "passkey.added", "invitation.used"]


async def test_enrolment_without_user_verification_is_refused(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    token = await invite(app, world.user_ids["clerk"])
    options = await client.post(f"/enrol/{token}/options")
    credential = SoftAuthenticator().create(options.json(), user_verified=False)
    response = await client.post(
        f"/enrol/{token}", json={"credential": credential}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert "xác minh" in response.json()["error"]["message"]
    # The invitation still works: nothing was consumed.
    assert (await client.get(f"/enrol/{token}")).status_code == 200


async def test_sign_in_with_a_discoverable_passkey(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    authenticator = await enrolled(app, client, world)
    options = await signin_options(client)
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    assert options["rpId"] == "localhost"
    response = await post_assertion(client, authenticator.get(options))
    assert response.status_code == 200, response.text
    assert "Xin chào" in (await client.get("/")).text
    async with resources_of(app).sessions() as db:
        passkey = await db.scalar(select(Passkey))
    assert passkey is not None and passkey.sign_count == 1 and passkey.last_used_at is not None
    assert (await audit_actions(app))[-1] == "signin.success"


async def test_replayed_assertion_is_refused(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    authenticator = await enrolled(app, client, world)
    assertion = authenticator.get(await signin_options(client))
    assert (await post_assertion(client, assertion)).status_code == 200
    client.cookies.clear()
    replay = await post_assertion(client, assertion)
    assert replay.status_code == 400
    assert "đã được dùng" in replay.json()["error"]["message"]
    assert (await audit_actions(app))[-1] == "signin.failure"


async def test_a_challenge_answers_only_once_even_with_a_fresh_signature(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    authenticator = await enrolled(app, client, world)
    options = await signin_options(client)
    assert (await post_assertion(client, authenticator.get(options))).status_code == 200
    client.cookies.clear()
    # Same challenge, new signature and a higher counter: still refused.
    again = await post_assertion(client, authenticator.get(options))
    assert again.status_code == 400
    assert "eoffice_session" not in again.headers.get("set-cookie", "")


async def test_sign_count_regression_is_refused_and_audited_as_possible_clone(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    authenticator = await enrolled(app, client, world)
    for _ in range(3):
        assert (
            await post_assertion(client, authenticator.get(await signin_options(client)))
        ).is_success
    client.cookies.clear()
    response = await post_assertion(
        client, authenticator.get(await signin_options(client), sign_count=2)
    )
    assert response.status_code == 400
    assert "sao chép" in response.json()["error"]["message"]
    assert (await audit_actions(app))[-2:] == ["passkey.sign_count_regression", "signin.failure"]
    async with resources_of(app).sessions() as db:
        passkey = await db.scalar(select(Passkey))
    assert passkey is not None and passkey.sign_count == 3


async def test_assertion_without_user_verification_is_refused(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    authenticator = await enrolled(app, client, world)
    response = await post_assertion(
        client, authenticator.get(await signin_options(client), user_verified=False)
    )
    assert response.status_code == 400
    assert (await audit_actions(app))[-1] == "signin.failure"


async def test_assertion_for_another_origin_is_refused(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    authenticator = await enrolled(app, client, world)
    assertion = authenticator.get(await signin_options(client), origin="https://evil.example")
    assert (await post_assertion(client, assertion)).status_code == 400


async def test_unknown_passkey_is_refused(client: httpx.AsyncClient, world: World) -> None:
    stranger = SoftAuthenticator()
    stranger.user_handle = b"x" * 32
    response = await post_assertion(client, stranger.get(await signin_options(client)))
    assert response.status_code == 400
    assert "không còn được chấp nhận" in response.json()["error"]["message"]
