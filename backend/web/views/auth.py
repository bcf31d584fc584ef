"""Signing in and out: the passkey ceremony endpoints, sessions in cookies, demo shortcuts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from backend.core import audit, events
from backend.core.errors import ForbiddenError, NotFoundError, ValidationError
from backend.core.models import User
from backend.core.settings import Settings
from backend.identity import passkeys, ratelimit, sessions
from backend.identity.policy import Principal
from backend.identity.sessions import SessionInfo, SessionLimits
from backend.web import htmx
from backend.web.views.render import render, resources

RP_NAME = "eOffice"


# --- helpers shared by the identity views ------------------------------------------------------


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def session_limits(settings: Settings) -> SessionLimits:
    return SessionLimits(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(minutes=settings.session_absolute_minutes),
    )


def relying_party(settings: Settings) -> passkeys.RelyingParty:
    return passkeys.RelyingParty(id=settings.rp_id, name=RP_NAME, origin=settings.origin)


def rate_limits(settings: Settings) -> passkeys.Limits:
    return passkeys.Limits(
        per_ip=settings.rate_limit_per_ip, per_account=settings.rate_limit_per_account
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """A session in a transaction; the domain events it records are dispatched after COMMIT."""
    res = resources(request)
    async with events.unit_of_work(res.sessions, res.bus) as db:
        yield db


def current_user(request: Request) -> User:
    user: User | None = getattr(request.state, "user", None)
    assert user is not None, "route guard lets only signed-in people through"
    return user


def current_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    assert principal is not None
    return principal


def current_session(request: Request) -> SessionInfo:
    session: SessionInfo | None = getattr(request.state, "session", None)
    assert session is not None
    return session


def safe_next(request: Request, target: str | None) -> str:
    """`target` if it is a local path (never an open redirect), else the home page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return request.url_for("home").path
    return target


def signed_out_url(request: Request) -> str:
    return request.url_for("signin").path + "?reason=signed_out"


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValidationError("Dữ liệu gửi lên không hợp lệ.", "The request body is not valid.")
    return body


def set_session_cookie(response: Response, settings: Settings, session_id: str) -> None:
    response.set_cookie(
        settings.session_cookie,
        session_id,
        max_age=settings.session_absolute_minutes * 60,
        path="/",
        secure=settings.is_https,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        settings.session_cookie, path="/", secure=settings.is_https, httponly=True, samesite="lax"
    )


async def begin_session(request: Request, response: Response, user: User) -> None:
    """A new session id on every sign-in; the session the browser had before is ended."""
    res = resources(request)
    settings = settings_of(request)
    previous: SessionInfo | None = getattr(request.state, "session", None)
    if previous is not None:
        await sessions.end(res.redis, user_id=previous.user_id, ref=previous.ref)
    session_id, _ = await sessions.start(
        res.redis,
        clock=res.clock,
        limits=session_limits(settings),
        user_id=user.id,
        device=sessions.describe_device(request.headers.get("user-agent", "")),
        ip=client_ip(request),
    )
    set_session_cookie(response, settings, session_id)


def signin_redirect(request: Request, *, reason: str = "") -> Response:
    """Where a person without a (live) session goes: the sign-in page, saying why."""
    query = {"next": request.url.path}
    if reason:
        query["reason"] = reason
    url = request.url_for("signin").path + "?" + urlencode(query, quote_via=quote)
    settings = settings_of(request)
    if request.url.path.startswith("/api/"):
        response: Response = JSONResponse(
            {"error": {"status": 401, "message": "Cần đăng nhập.", "message_en": "Sign in."}},
            status_code=401,
        )
    elif htmx.is_htmx(request) or request.method != "GET":
        response = htmx.redirect(Response(status_code=401), url)
        response.headers["Location"] = url
    else:
        response = RedirectResponse(url, status_code=303)
    if reason:
        clear_session_cookie(response, settings)
    return response


# --- pages and ceremony endpoints --------------------------------------------------------------

REASONS = {"expired", "signed_out"}


async def signin_page(request: Request) -> Response:
    if getattr(request.state, "user", None) is not None:
        return RedirectResponse(
            safe_next(request, request.query_params.get("next")), status_code=303
        )
    demo_users: list[User] = []
    if settings_of(request).demo:
        async with transaction(request) as db:
            demo_users = list(
                await db.scalars(
                    select(User)
                    .where(User.is_demo.is_(True), User.is_active.is_(True))
                    .order_by(User.id)
                )
            )
    reason = request.query_params.get("reason", "")
    response = render(
        request,
        "signin/signin.html",
        {
            "reason": reason if reason in REASONS else "",
            "next": safe_next(request, request.query_params.get("next")),
            "demo_users": demo_users,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def signin_options(request: Request) -> Response:
    res, settings = resources(request), settings_of(request)
    await ratelimit.hit(
        res.redis, bucket="signin", key=f"ip:{client_ip(request)}", limit=settings.rate_limit_per_ip
    )
    options = await passkeys.authentication_options(res.redis, rp=relying_party(settings))
    return Response(options, media_type="application/json", headers={"Cache-Control": "no-store"})


async def signin_verify(request: Request) -> Response:
    res, settings = resources(request), settings_of(request)
    ip = client_ip(request)
    await ratelimit.hit(
        res.redis, bucket="signin", key=f"ip:{ip}", limit=settings.rate_limit_per_ip
    )
    credential = await json_body(request)
    async with transaction(request) as db:
        outcome = await passkeys.authenticate(
            db,
            res.redis,
            clock=res.clock,
            rp=relying_party(settings),
            credential=credential,
            limits=rate_limits(settings),
            ip=ip,
        )
    if outcome.refusal is not None:
        raise outcome.refusal
    assert outcome.user is not None
    response = JSONResponse({"redirect": safe_next(request, request.query_params.get("next"))})
    await begin_session(request, response, outcome.user)
    return response


async def _audit_session_end(request: Request, *, user_id: int, detail: dict[str, object]) -> None:
    async with transaction(request) as db:
        await audit.record(
            db,
            clock=resources(request).clock,
            action="session.ended",
            actor_id=current_user(request).id,
            object_type="user",
            object_id=user_id,
            detail=detail,
            ip=client_ip(request),
        )


async def signout(request: Request) -> Response:
    session = current_session(request)
    await sessions.end(resources(request).redis, user_id=session.user_id, ref=session.ref)
    await _audit_session_end(
        request, user_id=session.user_id, detail={"how": "sign_out", "sessions": 1}
    )
    response = RedirectResponse(signed_out_url(request), status_code=303)
    clear_session_cookie(response, settings_of(request))
    return response


async def signout_everywhere(request: Request) -> Response:
    user = current_user(request)
    ended = await sessions.end_all(resources(request).redis, user_id=user.id)
    await _audit_session_end(
        request, user_id=user.id, detail={"how": "sign_out_everywhere", "sessions": ended}
    )
    response = RedirectResponse(signed_out_url(request), status_code=303)
    clear_session_cookie(response, settings_of(request))
    return response


async def demo_signin(request: Request) -> Response:
    """Demo mode only (the route does not exist otherwise): sign in as a demo user."""
    res, settings = resources(request), settings_of(request)
    async with transaction(request) as db:
        user = await db.scalar(select(User).where(User.username == request.path_params["username"]))
        if user is None or not user.is_active:
            raise NotFoundError("Không có người dùng mẫu này.", "No such demo user.")
        if not user.is_demo:
            raise ForbiddenError(
                "Chỉ người dùng mẫu mới đăng nhập nhanh được.", "Only demo users can do this."
            )
        await audit.record(
            db,
            clock=res.clock,
            action="signin.success",
            actor_id=user.id,
            object_type="user",
            object_id=user.id,
            detail={"method": "demo"},
            ip=client_ip(request),
        )
    del settings
    response = RedirectResponse(request.url_for("home").path, status_code=303)
    await begin_session(request, response, user)
    return response
