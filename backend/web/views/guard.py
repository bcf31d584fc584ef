"""The route guard: every route runs behind it, with the access the route declared.

It turns the session found by `SessionMiddleware` (or an API bearer token) into a principal,
asks the policy whether the route is open to them, and answers the refusals: sign-in redirect
(with the reason), 403, 401 JSON for the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.orm import selectinload
from starlette.requests import Request
from starlette.responses import Response

from backend.core.errors import EofficeError, ForbiddenError, UnauthenticatedError
from backend.core.models import User
from backend.identity import policy, sessions, tokens
from backend.identity.policy import Access, ApiScope, Principal
from backend.identity.session_middleware import SCOPE_KEY
from backend.identity.sessions import Lookup
from backend.signing_flow import authority
from backend.web.views.auth import client_ip, settings_of, signin_redirect, transaction
from backend.web.views.render import resources

Endpoint = Callable[[Request], Awaitable[Response]]


class SessionStoreUnavailableError(EofficeError):
    status_code = 503


def forbidden() -> ForbiddenError:
    return ForbiddenError(
        "Bạn không có quyền thực hiện thao tác này. Nếu cần, hãy liên hệ quản trị viên.",
        "You are not allowed to do this. Ask your administrator if you need to.",
    )


async def _person(request: Request) -> tuple[Lookup, User | None, Principal | None]:
    lookup: Lookup = request.scope.get(SCOPE_KEY) or Lookup("none")
    if lookup.status != "active" or lookup.session is None:
        return lookup, None, None
    async with transaction(request) as db:
        # Agency and unit loaded now: templates read them after the session has closed.
        user = await db.get(
            User,
            lookup.session.user_id,
            options=[selectinload(User.agency), selectinload(User.unit)],
        )
        # The signing side (grants, absences of the day) is judged on today's Vietnam date.
        principal = (
            await authority.principal(db, user, on=authority.today(resources(request).clock))
            if user is not None and user.is_active
            else None
        )
    if user is None or principal is None:
        await sessions.end(
            resources(request).redis, user_id=lookup.session.user_id, ref=lookup.session.ref
        )
        return Lookup("expired"), None, None
    return lookup, user, principal


async def _api(request: Request, endpoint: Endpoint, access: ApiScope) -> Response:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise UnauthenticatedError(
            "Cần mã truy cập API (Authorization: Bearer …).",
            "An API token is required (Authorization: Bearer …).",
        )
    res = resources(request)
    async with transaction(request) as db:
        principal = await tokens.authenticate(
            db,
            res.redis,
            clock=res.clock,
            keyring=res.api_keys,
            issuer=settings_of(request).origin,
            token=header[7:].strip(),
            path=request.url.path,
            ip=client_ip(request),
        )
    if not policy.allows_api(access, principal):
        raise ForbiddenError(
            "Mã truy cập API không có phạm vi cho thao tác này.",
            f"The API token lacks the scope {access.scope!r}.",
        )
    request.state.api_principal = principal
    return await endpoint(request)


def guard(endpoint: Endpoint, access: Access) -> Endpoint:
    async def guarded(request: Request) -> Response:
        if isinstance(access, ApiScope):
            return await _api(request, endpoint, access)
        lookup, user, principal = await _person(request)
        request.state.user = user
        request.state.principal = principal
        request.state.session = lookup.session if user else None
        request.state.session_status = lookup.status
        if policy.allows_route(access, principal):
            response = await endpoint(request)
        elif principal is not None:
            raise forbidden()
        elif lookup.status == "unavailable":
            raise SessionStoreUnavailableError(
                "Máy chủ phiên làm việc tạm thời không phản hồi. Vui lòng thử lại sau ít phút.",
                "The session store is briefly unavailable. Please try again in a few minutes.",
            )
        else:
            return signin_redirect(request, reason="expired" if lookup.status == "expired" else "")
        if user is not None:
            # Personal pages never enter shared caches (or the service worker's).
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    guarded.__doc__ = endpoint.__doc__
    return guarded
