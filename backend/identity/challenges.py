"""WebAuthn challenges: kept in Redis for a few minutes, consumed by the first answer."""

from __future__ import annotations

import json

import redis.asyncio as aioredis
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from backend.core.errors import EofficeError

PREFIX = "webauthn-challenge:"
TTL_SECONDS = 300


class ChallengeError(EofficeError):
    status_code = 400


async def remember(
    redis: aioredis.Redis, *, challenge: bytes, purpose: str, data: dict[str, object]
) -> None:
    payload = json.dumps({"purpose": purpose, **data})
    await redis.set(PREFIX + bytes_to_base64url(challenge), payload, ex=TTL_SECONDS)


def challenge_of(client_data_json_b64: str) -> bytes:
    """The challenge a browser answered, read from its clientDataJSON."""
    try:
        client_data = json.loads(base64url_to_bytes(client_data_json_b64))
        return base64url_to_bytes(str(client_data["challenge"]))
    except (ValueError, KeyError, TypeError):
        raise ChallengeError(
            "Phản hồi của thiết bị không hợp lệ. Vui lòng thử lại.",
            "The device's response is malformed. Please try again.",
        ) from None


async def consume(redis: aioredis.Redis, *, challenge: bytes, purpose: str) -> dict[str, object]:
    """Take the challenge out of Redis (GETDEL: a second use finds nothing); check its purpose."""
    raw = await redis.getdel(PREFIX + bytes_to_base64url(challenge))
    if raw is None:
        raise ChallengeError(
            "Yêu cầu xác thực đã hết hạn hoặc đã được dùng. Vui lòng thử lại.",
            "This authentication request has expired or was already used. Please try again.",
        )
    data: dict[str, object] = json.loads(raw)
    if data.get("purpose") != purpose:
        raise ChallengeError(
            "Yêu cầu xác thực không dành cho thao tác này.",
            "This authentication request was issued for something else.",
        )
    return data
