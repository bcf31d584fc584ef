"""The recipient picker's search: result rows for the clerk's search box (an htmx partial)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from backend.interchange import directory
from backend.web.views.auth import current_user, transaction
from backend.web.views.render import render


async def recipient_search(request: Request) -> Response:
    query = request.query_params.get("q", "")
    # The picker sends what is already chosen: it is not offered twice.
    chosen = request.query_params.getlist("recipient")
    agency = current_user(request).agency
    async with transaction(request) as db:
        found = await directory.search(
            db, query, exclude_codes=[*chosen, agency.code], near=agency.code
        )
    return render(request, "recipients/_results.html", {"q": query.strip(), "results": found})
