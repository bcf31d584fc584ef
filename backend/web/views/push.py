"""Web Push on screens: subscribe and unsubscribe a device, the per-device list with a test
button, and the administrator's list of notices that could not be delivered."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from backend.identity import sessions
from backend.push import outbox, payloads, subscriptions, worker
from backend.web.views.auth import current_user, json_body, transaction
from backend.web.views.render import render, resources


async def subscribe(request: Request) -> Response:
    body = await json_body(request)
    res = resources(request)
    device = sessions.describe_device(request.headers.get("user-agent", ""))
    async with transaction(request) as db:
        row = await subscriptions.subscribe(
            db, clock=res.clock, user_id=current_user(request).id, subscription=body, device=device
        )
        subscription_id = row.id
    return JSONResponse({"id": subscription_id}, status_code=201)


async def unsubscribe(request: Request) -> Response:
    body = await json_body(request)
    async with transaction(request) as db:
        await subscriptions.unsubscribe(
            db, user_id=current_user(request).id, endpoint=str(body.get("endpoint", ""))
        )
    return Response(status_code=204)


async def devices_page(request: Request) -> Response:
    res = resources(request)
    async with transaction(request) as db:
        devices = await subscriptions.of_user(db, current_user(request).id)
    context = {
        "devices": devices,
        "vapid_key": res.push.keys.public_key,
        "sent": request.query_params.get("sent") == "1",
    }
    return render(request, "account/notifications.html", context)


async def device_remove(request: Request) -> Response:
    async with transaction(request) as db:
        await subscriptions.unsubscribe(
            db, user_id=current_user(request).id, id=request.path_params["subscription_id"]
        )
    return RedirectResponse(request.url_for("account_notifications").path, status_code=303)


async def send_test(request: Request) -> Response:
    res = resources(request)
    async with transaction(request) as db:
        await outbox.enqueue(
            db, clock=res.clock, user_id=current_user(request).id, notice=payloads.test_notice()
        )
    target = request.url_for("account_notifications").path + "?sent=1"
    return RedirectResponse(target, status_code=303)


async def failures_page(request: Request) -> Response:
    async with transaction(request) as db:
        dead = await worker.dead_letters(db, agency_id=current_user(request).agency_id)
    return render(request, "admin/push.html", {"dead": dead})


async def failure_retry(request: Request) -> Response:
    res = resources(request)
    async with transaction(request) as db:
        await worker.retry_dead(
            db,
            clock=res.clock,
            outbox_id=request.path_params["outbox_id"],
            agency_id=current_user(request).agency_id,
        )
    return RedirectResponse(request.url_for("admin_push").path, status_code=303)
