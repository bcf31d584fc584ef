"""verify_notification: ES256 pinned, fresh, not replayed — and the simulator's real callback."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator

import httpx
import pytest
from mss_support import (
    AP_ID,
    AP_PASSWORD,
    MSSP_ID,
    RSA_MSISDN,
    LiveServer,
    claims,
    es256_token,
    hs256_with_public_key,
    identities,
    live_server,
    notification_key_pem,
    public_pem,
    unsigned_token,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.mssp_sim import Behaviour, SimConfig, create_app
from signing.mss import (
    InMemoryReplayGuard,
    MssClient,
    MssNotification,
    NotificationAlgorithmError,
    NotificationClaimsError,
    NotificationExpiredError,
    NotificationReplayError,
    NotificationSignatureError,
    control_code,
    verify_notification,
)

pytestmark = pytest.mark.anyio

PRIVATE = notification_key_pem()
PUBLIC = public_pem(PRIVATE)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def verify(
    token: str, guard: InMemoryReplayGuard | None = None, **kw: object
) -> MssNotification:
    return await verify_notification(
        token,
        mssp_public_key_pem=PUBLIC,
        expected_audience=AP_ID,
        expected_issuer=MSSP_ID,
        replay_guard=guard if guard is not None else InMemoryReplayGuard(),
        **kw,  # type: ignore[arg-type]
    )


async def test_valid_notification_is_accepted() -> None:
    payload = claims(MSSP_TransID="S42", StatusCode=401)
    result = await verify(es256_token(payload, PRIVATE))
    assert result.mssp_trans_id == "S42"
    assert result.status_code == 401
    assert result.jti == payload["jti"]


async def test_token_signed_by_another_key_is_refused() -> None:
    other = notification_key_pem.__wrapped__()  # a fresh key, not the cached one
    with pytest.raises(NotificationSignatureError):
        await verify(es256_token(claims(), other))


async def test_tampered_payload_is_refused() -> None:
    header, _, signature = es256_token(claims(StatusCode=401), PRIVATE).split(".")
    forged_payload = es256_token(claims(StatusCode=500), PRIVATE).split(".")[1]
    with pytest.raises(NotificationSignatureError):
        await verify(f"{header}.{forged_payload}.{signature}")


async def test_alg_none_is_refused() -> None:
    with pytest.raises(NotificationAlgorithmError):
        await verify(unsigned_token(claims()))


async def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    with pytest.raises(NotificationAlgorithmError):
        await verify(hs256_with_public_key(claims(), PUBLIC))


async def test_garbage_is_refused() -> None:
    for body in ("", "not a token", "a.b", b"\xff\xfe"):
        with pytest.raises(NotificationSignatureError):
            await verify(body)  # type: ignore[arg-type]


async def test_stale_or_future_notification_is_refused() -> None:
    with pytest.raises(NotificationExpiredError):
        await verify(es256_token(claims(iat=int(time.time()) - 301), PRIVATE))
    with pytest.raises(NotificationExpiredError):
        await verify(es256_token(claims(iat=int(time.time()) + 120), PRIVATE))


async def test_replayed_notification_is_refused() -> None:
    guard = InMemoryReplayGuard()
    token = es256_token(claims(), PRIVATE)
    await verify(token, guard)
    with pytest.raises(NotificationReplayError):
        await verify(token, guard)


async def test_replay_guard_forgets_after_its_ttl() -> None:
    now = [1000.0]
    guard = InMemoryReplayGuard(clock=lambda: now[0])
    assert await guard.claim("k", ttl_seconds=10)
    assert not await guard.claim("k", ttl_seconds=10)
    now[0] += 11
    assert await guard.claim("k", ttl_seconds=10)


async def test_wrong_audience_or_issuer_or_missing_claims_are_refused() -> None:
    for bad in ({"aud": "someone-else"}, {"iss": "evil"}, {"jti": None}, {"StatusCode": "500"}):
        with pytest.raises(NotificationClaimsError):
            await verify(es256_token(claims(**bad), PRIVATE))


@pytest.fixture
def receiver() -> Iterator[tuple[LiveServer, list[bytes]]]:
    received: list[bytes] = []

    async def collect(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=204)

    with live_server(Starlette(routes=[Route("/mss/notify", collect, methods=["POST"])])) as rx:
        yield rx, received


async def test_simulator_posts_a_verifiable_notification(
    receiver: tuple[LiveServer, list[bytes]],
) -> None:
    rx, received = receiver
    rsa_sim = identities()[0]
    config = SimConfig(
        ap_id=AP_ID,
        ap_password=AP_PASSWORD,
        identities=(dataclasses.replace(rsa_sim, behaviour=Behaviour.AUTO_CONFIRM),),
        mssp_id=MSSP_ID,
        notification_url=f"{rx.url}/mss/notify",
    )
    with live_server(create_app(config)) as sim:
        async with httpx.AsyncClient() as http:
            key_pem = (await http.get(f"{sim.url}/notification-key.pem")).content
        async with MssClient(sim.url, AP_ID, AP_PASSWORD, poll_initial_wait=0) as client:
            cert = await client.request_certificate(msisdn=RSA_MSISDN)
            digest = bytes(range(32))
            tx = await client.start_signature(
                msisdn=RSA_MSISDN,
                certificate_der=cert,
                dtbs_hash=digest,
                display_text=f"Ký văn bản số 7/TB. Mã kiểm tra: {control_code(digest)}",
            )
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.02)
    assert len(received) == 1
    guard = InMemoryReplayGuard()
    note = await verify_notification(
        received[0],
        mssp_public_key_pem=key_pem,
        expected_audience=AP_ID,
        expected_issuer=MSSP_ID,
        replay_guard=guard,
    )
    assert (note.mssp_trans_id, note.ap_trans_id) == (tx.mssp_trans_id, tx.ap_trans_id)
    assert note.status_code == 500
    with pytest.raises(NotificationReplayError):
        await verify_notification(
            received[0],
            mssp_public_key_pem=key_pem,
            expected_audience=AP_ID,
            expected_issuer=MSSP_ID,
            replay_guard=guard,
        )
