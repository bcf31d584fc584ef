"""API bearer tokens: ES256 JWTs with a kid, pinned algorithm, checked claims, revocation."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from jose import jwt
from sqlalchemy import select

from backend.core.clock import FixedClock
from backend.core.models import Agency, AuditEntry
from backend.identity import tokens
from tests.backend.identity.conftest import World, audit_actions, resources_of, sign_in_as
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def issue(
    app: LifespanManager, world: World, *, scopes: list[str] | None = None, days: int = 30
) -> tokens.IssuedToken:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        agency = await db.get_one(Agency, world.agency_id)
        account = await tokens.create_service_account(
            db,
            clock=res.clock,
            agency=agency,
            name=f"LGSP {days} {scopes}",
            actor_id=world.user_ids["admin"],
        )
        return await tokens.issue(
            db,
            clock=res.clock,
            keyring=res.api_keys,
            issuer=res.settings.origin,
            account=account,
            scopes=scopes or ["profile:read"],
            days=days,
            actor_id=world.user_ids["admin"],
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    parts = [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode())]
    return ".".join([*parts, b64(signature)])


async def test_a_valid_token_reads_me_and_every_use_is_audited(
    app: LifespanManager, world: World
) -> None:
    issued = await issue(app, world)
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == "ES256" and header["kid"] == resources_of(app).api_keys.current
    async with app.client() as http:
        for _ in range(2):
            response = await http.get("/api/v1/me", headers=bearer(issued.token))
            assert response.status_code == 200, response.text
    body = response.json()
    assert body["agency"]["code"] == "000.00.01.H53"
    assert body["scopes"] == ["profile:read"]
    assert (await audit_actions(app)).count("api_token.used") == 2


async def test_expired_token_is_refused(
    app: LifespanManager, world: World, clock: FixedClock
) -> None:
    issued = await issue(app, world, days=1)
    clock.advance(timedelta(days=1, seconds=1))
    async with app.client() as http:
        response = await http.get("/api/v1/me", headers=bearer(issued.token))
    assert response.status_code == 401
    assert "hết hạn" in response.json()["error"]["message"]


async def test_wrong_audience_and_issuer_are_refused(app: LifespanManager, world: World) -> None:
    res = resources_of(app)
    key = res.api_keys.keys[res.api_keys.current]
    now = int(res.clock.now().timestamp())
    issued = await issue(app, world)
    good = jwt.get_unverified_claims(issued.token)
    for change in ({"aud": "someone-else"}, {"iss": "https://evil.example"}):
        token = jwt.encode(
            {**good, **change}, key.private_pem, algorithm="ES256", headers={"kid": key.kid}
        )
        async with app.client() as http:
            assert (await http.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert now


async def test_alg_none_is_refused(app: LifespanManager, world: World) -> None:
    issued = await issue(app, world)
    claims = jwt.get_unverified_claims(issued.token)
    kid = resources_of(app).api_keys.current
    token = forged({"alg": "none", "typ": "JWT", "kid": kid}, claims)
    async with app.client() as http:
        assert (await http.get("/api/v1/me", headers=bearer(token))).status_code == 401


async def test_hs256_signed_with_the_public_key_is_refused(
    app: LifespanManager, world: World
) -> None:
    import hashlib
    import hmac

    issued = await issue(app, world)
    claims = jwt.get_unverified_claims(issued.token)
    res = resources_of(app)
    public_pem = res.api_keys.keys[res.api_keys.current].public_pem.encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": res.api_keys.current}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(signature)}"
    async with app.client() as http:
        assert (await http.get("/api/v1/me", headers=bearer(token))).status_code == 401


async def test_revoked_token_is_refused_even_after_redis_forgets(
    app: LifespanManager, world: World, client: httpx.AsyncClient
) -> None:
    issued = await issue(app, world)
    await sign_in_as(app, client, world.user_ids["admin"])
    response = await client.post(f"/admin/tokens/{issued.record.id}/revoke")
    assert response.status_code == 303
    redis = resources_of(app).redis
    assert await redis.ttl(tokens.REVOKED + issued.record.jti) > 0
    async with app.client() as http:
        assert (await http.get("/api/v1/me", headers=bearer(issued.token))).status_code == 401
        await redis.flushall()
        assert (await http.get("/api/v1/me", headers=bearer(issued.token))).status_code == 401


async def test_out_of_scope_token_is_refused(app: LifespanManager, world: World) -> None:
    issued = await issue(app, world, scopes=["documents:read"])
    async with app.client() as http:
        response = await http.get("/api/v1/me", headers=bearer(issued.token))
    assert response.status_code == 403
    assert "phạm vi" in response.json()["error"]["message"]


async def test_unknown_kid_and_garbage_are_refused(app: LifespanManager, world: World) -> None:
    issued = await issue(app, world)
    res = resources_of(app)
    key = res.api_keys.keys[res.api_keys.current]
    claims = jwt.get_unverified_claims(issued.token)
    other = jwt.encode(claims, key.private_pem, algorithm="ES256", headers={"kid": "rotated-out"})
    async with app.client() as http:
        for token in (other, "not-a-jwt", issued.token + "x"):
            assert (await http.get("/api/v1/me", headers=bearer(token))).status_code == 401
        assert (await http.get("/api/v1/me")).status_code == 401


def test_keys_rotate_and_old_tokens_keep_verifying(tmp_path: Path) -> None:
    first = tokens.load_keyring(tmp_path)
    assert (tmp_path / "secrets" / "api-keys" / f"{first.current}.pem").stat().st_mode & 0o077 == 0
    kid = tokens.rotate(tmp_path)
    ring = tokens.load_keyring(tmp_path)
    assert ring.current == kid != first.current
    assert ring.public(first.current) == first.public(first.current)


async def test_admin_creates_a_service_account_and_sees_the_token_once(
    app: LifespanManager, world: World, client: httpx.AsyncClient
) -> None:
    await sign_in_as(app, client, world.user_ids["admin"])
    created = await client.post("/admin/service-accounts", data={"name": "Trục LGSP tỉnh"})
    assert created.status_code == 303
    page = await client.get("/admin/service-accounts")
    assert "Trục LGSP tỉnh" in page.text
    async with resources_of(app).sessions() as db:
        from backend.core.models import ServiceAccount

        account = await db.scalar(select(ServiceAccount))
    assert account is not None
    issued = await client.post(
        f"/admin/service-accounts/{account.id}/tokens",
        data={"scopes": "profile:read", "days": "7"},
    )
    from bs4 import BeautifulSoup

    token = BeautifulSoup(issued.text, "html.parser").select_one("#api-token")
    assert token is not None
    value = str(token["value"])
    assert value not in (await client.get("/admin/service-accounts")).text
    async with app.client() as http:
        assert (await http.get("/api/v1/me", headers=bearer(value))).status_code == 200
    async with resources_of(app).sessions() as db:
        actions = list(await db.scalars(select(AuditEntry.action)))
    assert "api_token.created" in actions and "service_account.created" in actions
