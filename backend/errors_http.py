"""Errors translated into responses at the edge: a page, an htmx partial, or JSON for /api."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend import htmx
from backend.errors import EofficeError, RateLimitedError
from backend.views.render import language, render

log = logging.getLogger("eoffice")

_HTTP_MESSAGES = {
    404: ("Không tìm thấy trang bạn yêu cầu.", "The page you asked for was not found."),
    405: ("Thao tác này không được hỗ trợ.", "This action is not supported."),
    500: (
        "Hệ thống gặp lỗi. Dữ liệu của bạn không bị mất; vui lòng thử lại sau ít phút.",
        "Something went wrong. Nothing you entered was lost; please try again shortly.",
    ),
}


def _respond(request: Request, status: int, message_vi: str, message_en: str) -> Response:
    lang = language(request)
    message = message_en if lang == "en" else message_vi
    if request.url.path.startswith("/api/") or wants_json(request):
        return JSONResponse(
            {"error": {"status": status, "message": message, "message_en": message_en}},
            status_code=status,
        )
    block = "error" if htmx.is_partial(request) else None
    return render(
        request,
        "errors/error.html",
        {"status": status, "message": message},
        status_code=status,
        block=block,
    )


def wants_json(request: Request) -> bool:
    # The passkey scripts ask for JSON; pages and htmx get HTML.
    return "application/json" in request.headers.get("accept", "")


async def eoffice_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EofficeError)
    response = _respond(request, exc.status_code, exc.message_vi, exc.message_en)
    if isinstance(exc, RateLimitedError):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    vi, en = _HTTP_MESSAGES.get(exc.status_code, (str(exc.detail), str(exc.detail)))
    return _respond(request, exc.status_code, vi, en)


async def redis_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("redis unavailable on %s %s: %r", request.method, request.url.path, exc)
    return _respond(
        request,
        503,
        "Máy chủ phiên làm việc tạm thời không phản hồi. Dữ liệu của bạn không bị mất; vui lòng "
        "thử lại sau ít phút (có thể bạn sẽ cần đăng nhập lại).",
        "The session store is briefly unavailable. Nothing was lost; please try again in a few "
        "minutes (you may need to sign in again).",
    )


async def overloaded(request: Request, exc: Exception) -> Response:
    # Every database connection stayed busy for the pool timeout: say so, rather than a 500.
    log.warning("database pool exhausted on %s %s", request.method, request.url.path)
    response = _respond(
        request,
        503,
        "Hệ thống đang quá tải. Dữ liệu của bạn không bị mất; vui lòng thử lại sau giây lát.",
        "The system is overloaded. Nothing was lost; please try again in a moment.",
    )
    response.headers["Retry-After"] = "5"
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(request, 500, *_HTTP_MESSAGES[500])


def handlers() -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    return {
        EofficeError: eoffice_error,
        HTTPException: http_error,
        RedisConnectionError: redis_unavailable,
        RedisTimeoutError: redis_unavailable,
        PoolTimeoutError: overloaded,
        500: server_error,
    }
