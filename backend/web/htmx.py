"""Everything the app knows about htmx, in one place."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def is_partial(request: Request) -> bool:
    """htmx 4 marks swaps of part of a page (as opposed to boosted full-page navigation)."""
    return is_htmx(request) and request.headers.get("hx-request-type", "partial") == "partial"


def target(request: Request) -> str | None:
    return request.headers.get("hx-target")


def redirect(response: Response, url: str) -> Response:
    response.headers["HX-Redirect"] = url
    return response


def trigger(response: Response, event: str) -> Response:
    response.headers["HX-Trigger"] = event
    return response


def vary_on_htmx(response: Response) -> Response:
    # The service worker caches by URL: a URL that serves a page and a fragment must say so.
    existing = response.headers.get("vary")
    response.headers["Vary"] = f"{existing}, HX-Request" if existing else "HX-Request"
    return response
