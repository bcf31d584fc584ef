"""Every route of the app, named, each declaring who may use it.

`access` is read by the permission policy (identity issue) and by a test that refuses any route
without a declaration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from backend.settings import Settings
from backend.views import health, pwa

PUBLIC = "public"

Endpoint = Callable[[Request], Awaitable[Response]]


def route(
    path: str, endpoint: Endpoint, *, name: str, access: str, methods: list[str] | None = None
) -> Route:
    r = Route(path, endpoint, name=name, methods=methods or ["GET"])
    r.access = access  # type: ignore[attr-defined]
    return r


def build(settings: Settings) -> list[BaseRoute]:
    del settings  # demo-only routes arrive with the identity issue
    return [
        route("/", pwa.home, name="home", access=PUBLIC),
        route("/offline", pwa.offline, name="offline", access=PUBLIC),
        route("/manifest.webmanifest", pwa.manifest, name="manifest", access=PUBLIC),
        route("/sw.js", pwa.service_worker, name="service_worker", access=PUBLIC),
        route("/static/{path:path}", pwa.static, name="static", access=PUBLIC),
        route("/lang/{lang}", pwa.switch_language, name="switch_language", access=PUBLIC),
        route("/healthz", health.healthz, name="healthz", access=PUBLIC),
    ]
