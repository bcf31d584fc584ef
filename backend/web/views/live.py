"""`/live`: the page's one Server-Sent Events stream of live updates (`backend.core.live`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from backend.core import live
from backend.web.views.auth import current_user
from backend.web.views.render import resources


async def live_events(request: Request) -> Response:
    if "text/event-stream" not in request.headers.get("accept", ""):
        # Only EventSource (which asks for text/event-stream) gets the never-ending stream.
        return Response("text/event-stream only", status_code=406)
    body = live.stream(
        resources(request).redis,
        current_user(request).id,
        last_event_id=request.headers.get("last-event-id", ""),
        since=request.query_params.get("since", ""),
        is_disconnected=request.is_disconnected,
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
