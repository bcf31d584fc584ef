"""Server-side sessions in Redis.

The cookie carries only an opaque random id. Redis keys use its SHA-256, so neither a Redis dump
nor the "my sessions" page ever shows a usable id. Expiry is decided against the injected clock
(idle and absolute limits); Redis TTLs only collect the garbage. If Redis loses its data, every
session simply no longer exists: people sign in again, nothing else breaks.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import redis.asyncio as aioredis

from backend.core.clock import Clock

PREFIX = "session:"
USER_INDEX = "user-sessions:"

Status = Literal["none", "active", "expired", "unavailable"]


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class SessionInfo:
    ref: str  # SHA-256 of the id: safe to show and to put in URLs
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    device: str
    ip: str

    def expired(self, now: datetime, limits: SessionLimits) -> bool:
        return now - self.last_seen_at > limits.idle or now - self.created_at > limits.absolute


@dataclass(frozen=True)
class Lookup:
    status: Status
    session: SessionInfo | None = None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def ref_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _encode(info: SessionInfo) -> bytes:
    return json.dumps(
        {
            "user_id": info.user_id,
            "created_at": info.created_at.timestamp(),
            "last_seen_at": info.last_seen_at.timestamp(),
            "device": info.device,
            "ip": info.ip,
        }
    ).encode()


def _decode(ref: str, raw: bytes | str) -> SessionInfo:
    data = json.loads(raw)
    return SessionInfo(
        ref=ref,
        user_id=int(data["user_id"]),
        created_at=datetime.fromtimestamp(data["created_at"], UTC),
        last_seen_at=datetime.fromtimestamp(data["last_seen_at"], UTC),
        device=str(data["device"]),
        ip=str(data["ip"]),
    )


def _ttl(info: SessionInfo, now: datetime, limits: SessionLimits) -> int:
    remaining = min(limits.idle, info.created_at + limits.absolute - now)
    return max(1, int(remaining.total_seconds()) + 60)


async def start(
    redis: aioredis.Redis,
    *,
    clock: Clock,
    limits: SessionLimits,
    user_id: int,
    device: str,
    ip: str,
) -> tuple[str, SessionInfo]:
    """A new session; returns the id for the cookie (never stored) and its public record."""
    session_id = secrets.token_urlsafe(32)
    now = clock.now()
    info = SessionInfo(
        ref=ref_of(session_id),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        device=device[:120],
        ip=ip,
    )
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(PREFIX + info.ref, _encode(info), ex=_ttl(info, now, limits))
        pipe.sadd(USER_INDEX + str(user_id), info.ref)
        pipe.expire(USER_INDEX + str(user_id), int(limits.absolute.total_seconds()) + 60)
        await pipe.execute()
    return session_id, info


async def resume(
    redis: aioredis.Redis, *, clock: Clock, limits: SessionLimits, session_id: str, ip: str = ""
) -> Lookup:
    """The live session behind a cookie, touched; expired ones are ended on the way."""
    ref = ref_of(session_id)
    raw = await redis.get(PREFIX + ref)
    if raw is None:
        return Lookup("expired")
    info = _decode(ref, raw)
    now = clock.now()
    if info.expired(now, limits):
        await end(redis, user_id=info.user_id, ref=ref)
        return Lookup("expired")
    touched = SessionInfo(
        ref=ref,
        user_id=info.user_id,
        created_at=info.created_at,
        last_seen_at=max(now, info.last_seen_at),
        device=info.device,
        ip=ip or info.ip,
    )
    await redis.set(PREFIX + ref, _encode(touched), ex=_ttl(touched, now, limits))
    return Lookup("active", touched)


async def end(redis: aioredis.Redis, *, user_id: int, ref: str) -> bool:
    """End one session of `user_id`; False if there was none (or it was someone else's)."""
    raw = await redis.get(PREFIX + ref)
    if raw is None or _decode(ref, raw).user_id != user_id:
        await redis.srem(USER_INDEX + str(user_id), ref)
        return False
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(PREFIX + ref)
        pipe.srem(USER_INDEX + str(user_id), ref)
        await pipe.execute()
    return True


async def list_for_user(
    redis: aioredis.Redis, *, clock: Clock, limits: SessionLimits, user_id: int
) -> list[SessionInfo]:
    refs = sorted(_text(r) for r in await redis.smembers(USER_INDEX + str(user_id)))
    found: list[SessionInfo] = []
    now = clock.now()
    stale: list[str] = []
    for ref, raw in zip(
        refs, await redis.mget([PREFIX + r for r in refs]) if refs else [], strict=True
    ):
        if raw is None:
            stale.append(ref)
            continue
        info = _decode(ref, raw)
        if info.user_id == user_id and not info.expired(now, limits):
            found.append(info)
    if stale:
        await redis.srem(USER_INDEX + str(user_id), *stale)
    return sorted(found, key=lambda s: s.last_seen_at, reverse=True)


async def end_all(redis: aioredis.Redis, *, user_id: int, keep_ref: str | None = None) -> int:
    """End every session of `user_id` (except `keep_ref`); returns how many ended."""
    refs = [_text(r) for r in await redis.smembers(USER_INDEX + str(user_id))]
    ended = 0
    for ref in refs:
        if ref != keep_ref and await end(redis, user_id=user_id, ref=ref):
            ended += 1
    return ended


def describe_device(user_agent: str) -> str:
    """A short, human name for a browser: "iPad · Safari", "Android · Chrome"."""
    ua = user_agent
    if "iPad" in ua or ("Macintosh" in ua and "Mobile" in ua):
        system = "iPad"
    elif "iPhone" in ua:
        system = "iPhone"
    elif "Android" in ua:
        system = "Android"
    elif "Windows" in ua:
        system = "Windows"
    elif "Mac OS X" in ua or "Macintosh" in ua:
        system = "macOS"
    elif "Linux" in ua:
        system = "Linux"
    else:
        system = "?"
    if "Edg/" in ua:
        browser = "Edge"
    elif "CriOS" in ua or "Chrome/" in ua or "Chromium" in ua:
        browser = "Chrome"
    elif "FxiOS" in ua or "Firefox/" in ua:
        browser = "Firefox"
    elif "Safari/" in ua:
        browser = "Safari"
    else:
        browser = ua[:40] or "?"
    return f"{system} · {browser}"
