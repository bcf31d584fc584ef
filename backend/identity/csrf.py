"""Header-based CSRF protection (no tokens in forms): unsafe requests must come from our origin.

Browsers send `Sec-Fetch-Site` (all current ones) and `Origin` (on every unsafe request), and a
page cannot forge either. `same-origin` passes; anything else is refused. Without
`Sec-Fetch-Site` the `Origin` must be exactly the configured base URL. Requests with a bearer
token and no cookie cannot ride on a person's session, so the API is not affected. htmx sends the
same headers as any fetch, so it needs nothing special.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MESSAGE_VI = (
    "Yêu cầu bị từ chối vì không xuất phát từ trang eOffice (bảo vệ chống giả mạo yêu cầu). "
    "Hãy mở lại trang và thử lại."
)
MESSAGE_EN = "Refused: the request did not come from an eOffice page (cross-site request forgery)."


def is_same_origin(headers: Headers, origin: str) -> bool:
    site = headers.get("sec-fetch-site")
    sent_origin = headers.get("origin")
    if sent_origin is not None and sent_origin != origin:
        return False
    if site is not None:
        return site == "same-origin"
    return sent_origin == origin


def _bearer_without_cookie(headers: Headers) -> bool:
    return headers.get("authorization", "").lower().startswith("bearer ") and not headers.get(
        "cookie"
    )


class CsrfMiddleware:
    def __init__(self, app: ASGIApp, *, origin: str, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.origin = origin
        # Server-to-server endpoints that authenticate their callers themselves and never
        # read a session (the demo simulators' protocol endpoints: MSSP, the axis).
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = str(scope.get("path", ""))
        if (
            _bearer_without_cookie(headers)
            or is_same_origin(headers, self.origin)
            or path.startswith(self.exempt)
        ):
            await self.app(scope, receive, send)
            return
        response = _refusal(str(scope.get("path", "")), headers)
        await response(scope, receive, send)


def _refusal(path: str, headers: Headers) -> Response:
    if path.startswith("/api/") or "application/json" in headers.get("accept", ""):
        body = json.dumps(
            {"error": {"status": 403, "message": MESSAGE_VI, "message_en": MESSAGE_EN}},
            ensure_ascii=False,
        )
        return Response(body, status_code=403, media_type="application/json")
    return Response(
        f"{MESSAGE_VI}\n\n{MESSAGE_EN}\n", status_code=403, media_type="text/plain; charset=utf-8"
    )
