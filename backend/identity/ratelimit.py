"""Fixed-window rate limits in Redis, per IP address and per account."""

from __future__ import annotations

import redis.asyncio as aioredis

from backend.core.errors import RateLimitedError

PREFIX = "ratelimit:"
WINDOW_SECONDS = 60


async def hit(redis: aioredis.Redis, *, bucket: str, key: str, limit: int) -> None:
    """Count one attempt; refuse (429) once `limit` attempts were made in this window."""
    name = f"{PREFIX}{bucket}:{key}"
    count = int(await redis.incr(name))
    if count == 1:
        await redis.expire(name, WINDOW_SECONDS)
    if count > limit:
        ttl = await redis.ttl(name)
        retry_after = ttl if ttl and ttl > 0 else WINDOW_SECONDS
        raise RateLimitedError(
            f"Bạn đã thử quá nhiều lần. Vui lòng đợi {retry_after} giây rồi thử lại.",
            f"Too many attempts. Please wait {retry_after} seconds and try again.",
            retry_after=retry_after,
        )


async def hit_ip_and_account(
    redis: aioredis.Redis,
    *,
    bucket: str,
    ip: str,
    account: str | None,
    per_ip: int,
    per_account: int,
) -> None:
    await hit(redis, bucket=bucket, key=f"ip:{ip}", limit=per_ip)
    if account is not None:
        await hit(redis, bucket=bucket, key=f"account:{account}", limit=per_account)
