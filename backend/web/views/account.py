"""My account ("Tôi"): who I am, my passkeys (add, rename, revoke), my sessions (see, end), and
the way to everything that is not daily work."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from backend.core import audit
from backend.core.errors import NotFoundError
from backend.core.models import User
from backend.identity import passkeys, sessions
from backend.web.views.auth import (
    client_ip,
    current_session,
    current_user,
    json_body,
    relying_party,
    session_limits,
    settings_of,
    signed_out_url,
    transaction,
)
from backend.web.views.render import render, resources

PURPOSE = "add_passkey"


async def me_page(request: Request) -> Response:
    """ "Tôi": the person, their account things (passkeys, sessions, notifications, absence,
    language, sign out) and the work pages their tabs do not hold."""
    return render(request, "account/me.html")


async def passkeys_page(request: Request) -> Response:
    user = current_user(request)
    async with transaction(request) as db:
        mine = await passkeys.passkeys_of(db, user.id)
    return render(
        request,
        "account/passkeys.html",
        {
            "passkeys": mine,
            "default_name": sessions.describe_device(request.headers.get("user-agent", "")),
        },
    )


async def passkey_options(request: Request) -> Response:
    res = resources(request)
    async with transaction(request) as db:
        user = await db.get_one(User, current_user(request).id)
        options = await passkeys.registration_options(
            db, res.redis, rp=relying_party(settings_of(request)), user=user, purpose=PURPOSE
        )
    return Response(options, media_type="application/json", headers={"Cache-Control": "no-store"})


async def passkey_add(request: Request) -> Response:
    body = await json_body(request)
    res = resources(request)
    async with transaction(request) as db:
        user = await db.get_one(User, current_user(request).id)
        await passkeys.register(
            db,
            res.redis,
            clock=res.clock,
            rp=relying_party(settings_of(request)),
            user=user,
            credential=body.get("credential") or {},
            name=str(body.get("name", "")),
            purpose=PURPOSE,
            ip=client_ip(request),
        )
    return JSONResponse({"redirect": request.url_for("account_passkeys").path})


async def passkey_rename(request: Request) -> Response:
    form = await request.form()
    async with transaction(request) as db:
        await passkeys.rename(
            db,
            user_id=current_user(request).id,
            passkey_id=int(request.path_params["passkey_id"]),
            name=str(form.get("name", "")),
        )
    return RedirectResponse(request.url_for("account_passkeys").path, status_code=303)


async def passkey_revoke(request: Request) -> Response:
    user = current_user(request)
    async with transaction(request) as db:
        await passkeys.revoke(
            db,
            clock=resources(request).clock,
            user_id=user.id,
            passkey_id=int(request.path_params["passkey_id"]),
            actor_id=user.id,
            ip=client_ip(request),
        )
    return RedirectResponse(request.url_for("account_passkeys").path, status_code=303)


async def sessions_page(request: Request) -> Response:
    res = resources(request)
    mine = await sessions.list_for_user(
        res.redis,
        clock=res.clock,
        limits=session_limits(settings_of(request)),
        user_id=current_user(request).id,
    )
    return render(
        request,
        "account/sessions.html",
        {"sessions": mine, "current_ref": current_session(request).ref},
    )


async def session_end(request: Request) -> Response:
    user = current_user(request)
    ref = request.path_params["ref"]
    if not await sessions.end(resources(request).redis, user_id=user.id, ref=ref):
        raise NotFoundError("Phiên này không còn tồn tại.", "That session no longer exists.")
    async with transaction(request) as db:
        await audit.record(
            db,
            clock=resources(request).clock,
            action="session.ended",
            actor_id=user.id,
            object_type="user",
            object_id=user.id,
            detail={"how": "ended_from_sessions_page", "sessions": 1},
            ip=client_ip(request),
        )
    if ref == current_session(request).ref:
        return RedirectResponse(signed_out_url(request), status_code=303)
    return RedirectResponse(request.url_for("account_sessions").path, status_code=303)
