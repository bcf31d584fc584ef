"""The service worker's list of what to keep on this device for reading offline."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.documents import offline
from backend.web.views.auth import current_principal, transaction
from backend.web.views.render import url_builder


async def manifest(request: Request) -> Response:
    principal, url_for = current_principal(request), url_builder(request)
    async with transaction(request) as db:
        documents = await offline.offline_set(db, principal=principal, url_for=url_for)
    body = {
        "user": principal.user_id,
        "documents": [d.as_json() for d in documents],
        "lists": offline.lists_for(principal, url_for),
        "budget_bytes": offline.BUDGET_BYTES,
    }
    # Personal: never in the HTTP cache; the worker keeps what it needs in its own cache.
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
