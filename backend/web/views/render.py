"""Rendering helpers shared by the handlers."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from backend.core import live
from backend.core.i18n import LANGUAGE_COOKIE, pick_language
from backend.core.settings import Settings
from backend.core.urls import UrlFor
from backend.runtime.resources import Resources
from backend.web import navigation


def resources(request: Request) -> Resources:
    res: Resources = request.state.resources
    return res


def url_builder(request: Request) -> UrlFor:
    """Route name and parameters → path, for domain code that must name a page (the app's one
    `web.urls.paths`)."""
    url_for: UrlFor = request.app.state.urls
    return url_for


def language(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return pick_language(
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
        settings.default_language,
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
) -> Response:
    lang = language(request)
    principal = getattr(request.state, "principal", None)
    full = {
        "request": request,
        "lang": lang,
        "current_user": getattr(request.state, "user", None),
        # The tab bar / rail, the current destination and the back link (signed-in pages).
        "nav": navigation.state(request, principal) if principal is not None else None,
        # Where this page's live stream starts (backend.core.live.since_now).
        "live_since": live.since_now(int(time.time() * 1000)),
        **(context or {}),
    }
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, name, full, status_code=status_code, block_name=block
    )
    response.headers["Content-Language"] = lang
    return response


def attachment(data: bytes, *, filename: str, media_type: str, sha256: str = "") -> Response:
    """Stored, content-addressed bytes as a download: never sniffed, cached privately forever."""
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    if sha256:
        headers["X-Content-SHA256"] = sha256
    return Response(data, media_type=media_type, headers=headers)
