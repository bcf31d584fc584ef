"""Enrolment: an invitation link lets its person register a passkey, which signs them in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.identity import invitations, passkeys, ratelimit, sessions
from backend.web.views.auth import (
    begin_session,
    client_ip,
    json_body,
    relying_party,
    settings_of,
    transaction,
)
from backend.web.views.render import render, resources

PURPOSE = "enrol"


async def _limit(request: Request) -> None:
    res, settings = resources(request), settings_of(request)
    await ratelimit.hit_ip_and_account(
        res.redis,
        bucket="enrol",
        ip=client_ip(request),
        account=request.path_params["token"][:16],
        per_ip=settings.rate_limit_per_ip,
        per_account=settings.rate_limit_per_account,
    )


async def enrol_page(request: Request) -> Response:
    await _limit(request)
    async with transaction(request) as db:
        opened = await invitations.open_invitation(
            db, clock=resources(request).clock, token=request.path_params["token"]
        )
        person = opened.user
        agency = person.agency.name
    response = render(
        request,
        "enrol/enrol.html",
        {
            "person": person,
            "agency": agency,
            "token": request.path_params["token"],
            "default_name": sessions.describe_device(request.headers.get("user-agent", "")),
        },
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def enrol_options(request: Request) -> Response:
    await _limit(request)
    res = resources(request)
    async with transaction(request) as db:
        opened = await invitations.open_invitation(
            db, clock=res.clock, token=request.path_params["token"]
        )
        options = await passkeys.registration_options(
            db,
            res.redis,
            rp=relying_party(settings_of(request)),
            user=opened.user,
            purpose=PURPOSE,
            bound={"invitation_id": opened.invitation.id},
        )
    return Response(options, media_type="application/json", headers={"Cache-Control": "no-store"})


async def enrol_verify(request: Request) -> Response:
    await _limit(request)
    body = await json_body(request)
    res = resources(request)
    ip = client_ip(request)
    async with transaction(request) as db:
        opened = await invitations.open_invitation(
            db, clock=res.clock, token=request.path_params["token"]
        )
        await passkeys.register(
            db,
            res.redis,
            clock=res.clock,
            rp=relying_party(settings_of(request)),
            user=opened.user,
            credential=body.get("credential") or {},
            name=str(body.get("name", "")),
            purpose=PURPOSE,
            bound={"invitation_id": opened.invitation.id},
            ip=ip,
        )
        await invitations.use(db, clock=res.clock, invitation=opened.invitation, ip=ip)
        user = opened.user
    response = JSONResponse({"redirect": request.url_for("home").path})
    await begin_session(request, response, user)
    return response
