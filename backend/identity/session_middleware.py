"""Pure ASGI middleware: finds the session behind the cookie (Redis) before any handler runs.

It only reads: `scope["eoffice.session"]` gets a `sessions.Lookup`. Handlers that sign in or out
set or clear the cookie themselves (`backend/web/views/auth.py`). Static assets skip the lookup.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.identity import sessions
from backend.identity.sessions import Lookup, SessionLimits

SCOPE_KEY = "eoffice.session"
SKIP_PREFIXES = ("/static/", "/sw.js", "/manifest.webmanifest", "/healthz")


def session_cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:
        return None
    morsel = cookie.get(name)
    return morsel.value if morsel and morsel.value else None


class SessionMiddleware:
    def __init__(self, app: ASGIApp, *, cookie_name: str, limits: SessionLimits) -> None:
        self.app = app
        self.cookie_name = cookie_name
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(SKIP_PREFIXES):
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = await self._lookup(scope)
        await self.app(scope, receive, send)

    async def _lookup(self, scope: Scope) -> Lookup:
        session_id = session_cookie(Headers(scope=scope), self.cookie_name)
        if session_id is None:
            return Lookup("none")
        resources = scope.get("state", {}).get("resources")
        if resources is None:
            return Lookup("none")
        client = scope.get("client")
        try:
            return await sessions.resume(
                resources.redis,
                clock=resources.clock,
                limits=self.limits,
                session_id=session_id,
                ip=client[0] if client else "",
            )
        except (RedisConnectionError, RedisTimeoutError, OSError):
            # Redis down: nobody is signed in until it is back; public pages still work.
            return Lookup("unavailable")
