"""Administration within one's agency: people and invitations, sessions, service accounts;
the agencies known here (ours and the national directory's)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backend.core.models import Agency, Role
from backend.identity import accounts, invitations, policy, ratelimit, tokens, users
from backend.identity.policy import Action
from backend.interchange import directory
from backend.web.views.auth import (
    client_ip,
    current_principal,
    settings_of,
    transaction,
)
from backend.web.views.guard import forbidden
from backend.web.views.render import render, resources


async def _limit_invitations(request: Request) -> None:
    settings = settings_of(request)
    await ratelimit.hit_ip_and_account(
        resources(request).redis,
        bucket="invite",
        ip=client_ip(request),
        account=str(current_principal(request).user_id),
        per_ip=settings.rate_limit_per_ip,
        per_account=settings.rate_limit_per_account,
    )


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


async def _users_page(request: Request, extra: dict[str, Any] | None = None) -> Response:
    principal = current_principal(request)
    async with transaction(request) as db:
        listing = await accounts.people(
            db, clock=resources(request).clock, agency_id=principal.agency_id
        )
    return render(
        request,
        "admin/users.html",
        {"people": listing, "roles": [r.value for r in Role], **(extra or {})},
    )


async def users_page(request: Request) -> Response:
    return await _users_page(request)


async def user_create(request: Request) -> Response:
    principal = current_principal(request)
    await _limit_invitations(request)
    form = await request.form()
    res = resources(request)
    async with transaction(request) as db:
        user, issued = await accounts.create_and_invite(
            db,
            clock=res.clock,
            agency_id=principal.agency_id,
            actor_id=principal.user_id,
            username=str(form.get("username", "")),
            full_name=str(form.get("full_name", "")),
            title=str(form.get("title", "")),
            unit_id=_int_or_none(form.get("unit_id")),
            roles=accounts.parse_roles(str(v) for v in form.getlist("roles")),
            phone=str(form.get("phone", "")).strip() or None,
        )
        name = user.full_name
    link = users.invitation_url(settings_of(request).base_url, issued.token)
    return await _users_page(request, {"invitation_link": link, "invitation_for": name})


async def user_invite(request: Request) -> Response:
    principal = current_principal(request)
    await _limit_invitations(request)
    res = resources(request)
    async with transaction(request) as db:
        target = await accounts.member(
            db, agency_id=principal.agency_id, user_id=int(request.path_params["user_id"])
        )
        if not policy.may(principal, Action.MANAGE_USERS, target):
            raise forbidden()
        issued = await users.invite(db, clock=res.clock, user=target, actor_id=principal.user_id)
        name = target.full_name
    link = users.invitation_url(settings_of(request).base_url, issued.token)
    return await _users_page(request, {"invitation_link": link, "invitation_for": name})


async def invitation_revoke(request: Request) -> Response:
    principal = current_principal(request)
    async with transaction(request) as db:
        await invitations.revoke(
            db,
            clock=resources(request).clock,
            invitation_id=int(request.path_params["invitation_id"]),
            actor_id=principal.user_id,
            agency_id=principal.agency_id,
        )
    return RedirectResponse(request.url_for("admin_users").path, status_code=303)


async def user_sessions_end(request: Request) -> Response:
    principal = current_principal(request)
    res = resources(request)
    async with transaction(request) as db:
        target = await accounts.member(
            db, agency_id=principal.agency_id, user_id=int(request.path_params["user_id"])
        )
        if not policy.may(principal, Action.MANAGE_USERS, target):
            raise forbidden()
        await accounts.end_sessions(
            db,
            res.redis,
            clock=res.clock,
            user=target,
            actor_id=principal.user_id,
            ip=client_ip(request),
        )
    return RedirectResponse(request.url_for("admin_users").path, status_code=303)


async def _service_accounts_page(request: Request, extra: dict[str, Any] | None = None) -> Response:
    principal = current_principal(request)
    async with transaction(request) as db:
        listing = await accounts.service_accounts(db, agency_id=principal.agency_id)
    return render(
        request,
        "admin/service_accounts.html",
        {
            "listing": listing,
            "scopes": policy.API_SCOPES,
            "default_days": settings_of(request).api_token_days,
            "now": resources(request).clock.now(),
            **(extra or {}),
        },
    )


async def service_accounts_page(request: Request) -> Response:
    return await _service_accounts_page(request)


async def service_account_create(request: Request) -> Response:
    principal = current_principal(request)
    form = await request.form()
    async with transaction(request) as db:
        agency = await db.get_one(Agency, principal.agency_id)
        await tokens.create_service_account(
            db,
            clock=resources(request).clock,
            agency=agency,
            name=str(form.get("name", "")),
            actor_id=principal.user_id,
        )
    return RedirectResponse(request.url_for("admin_service_accounts").path, status_code=303)


async def token_issue(request: Request) -> Response:
    principal = current_principal(request)
    form = await request.form()
    res = resources(request)
    async with transaction(request) as db:
        account = await accounts.service_account(
            db, agency_id=principal.agency_id, account_id=int(request.path_params["account_id"])
        )
        issued = await tokens.issue(
            db,
            clock=res.clock,
            keyring=res.api_keys,
            issuer=settings_of(request).origin,
            account=account,
            scopes=[str(v) for v in form.getlist("scopes")],
            days=_int_or_none(form.get("days")) or settings_of(request).api_token_days,
            actor_id=principal.user_id,
        )
        name = account.name
    return await _service_accounts_page(request, {"new_token": issued.token, "token_for": name})


async def token_revoke(request: Request) -> Response:
    principal = current_principal(request)
    res = resources(request)
    async with transaction(request) as db:
        await tokens.revoke(
            db,
            res.redis,
            clock=res.clock,
            token_id=int(request.path_params["token_id"]),
            agency_id=principal.agency_id,
            actor_id=principal.user_id,
        )
    return RedirectResponse(request.url_for("admin_service_accounts").path, status_code=303)


async def agencies_page(request: Request) -> Response:
    """Our own (hosted) agencies by default; `?directory=1` the national directory's, which
    is searched rather than listed (123,000 rows)."""
    query = request.query_params.get("q", "").strip()
    in_directory = request.query_params.get("directory") == "1"
    async with transaction(request) as db:
        listing = await directory.listing(db, query=query, directory=in_directory)
    context = {"listing": listing, "q": query, "in_directory": in_directory}
    return render(request, "admin/agencies.html", context)
