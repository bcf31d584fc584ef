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

from backend.core.blobs import BlobCorruptError, BlobError, BlobNotFoundError
from backend.core.errors import EofficeError, RateLimitedError
from backend.signing_flow.keyring import KeyringError
from backend.web import htmx
from backend.web.views.render import language, render
from signing import (
    BadPdfError,
    CertificateRevokedError,
    KeyProviderError,
    RevocationUnavailableError,
    SignatureMismatchError,
    SigningError,
    TimestampUnavailableError,
    UntrustedCertificateError,
)
from signing.mss_errors import (
    MssError,
    MssInternalError,
    MssPhoneUnreachableError,
    MssPollTimeoutError,
    MssUnavailableError,
)

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


# Signing errors carry their own Vietnamese and English messages; the class says the status.
# An outside service that did not answer (TSA, OCSP/CRL, the telco's MSSP) is 503: retry later.
_SIGNING_STATUS: tuple[tuple[type[SigningError], int], ...] = (
    (BadPdfError, 422),
    (SignatureMismatchError, 422),
    (TimestampUnavailableError, 503),
    (RevocationUnavailableError, 503),
    (MssUnavailableError, 503),
    (MssInternalError, 503),
    (MssPollTimeoutError, 503),
    (MssPhoneUnreachableError, 503),
    (CertificateRevokedError, 409),
    (UntrustedCertificateError, 409),
    (MssError, 409),  # the person's SIM or PIN: cancelled, expired, blocked, no certificate…
    (KeyProviderError, 500),
)


async def signing_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SigningError)
    status = next((code for cls, code in _SIGNING_STATUS if isinstance(exc, cls)), 500)
    if status >= 500:
        log.error("signing failed on %s %s: %r", request.method, request.url.path, exc)
    response = _respond(request, status, exc.message_vi, exc.message_en)
    if status == 503:
        response.headers["Retry-After"] = "30"
    return response


async def keyring_error(request: Request, exc: Exception) -> Response:
    log.error("signing keys unusable on %s %s: %r", request.method, request.url.path, exc)
    return _respond(
        request,
        500,
        "Chức năng ký số chưa sẵn sàng: khóa ký hoặc chứng thư số của máy chủ chưa được cấu "
        "hình hoặc không dùng được. Văn bản không bị thay đổi; vui lòng báo quản trị hệ thống.",
        "Signing is not available: the server's signing keys or certificates are not set up or "
        "not usable. No document was changed; please tell the system administrator.",
    )


async def blob_error(request: Request, exc: Exception) -> Response:
    log.error("blob store error on %s %s: %r", request.method, request.url.path, exc)
    if isinstance(exc, BlobNotFoundError | BlobCorruptError):
        what_vi, what_en = (
            ("không tìm thấy", "missing")
            if isinstance(exc, BlobNotFoundError)
            else ("tệp bị hỏng", "damaged")
        )
        return _respond(
            request,
            500,
            f"Không đọc được tệp của văn bản trong kho lưu trữ ({what_vi}). Các dữ liệu khác "
            "không bị ảnh hưởng; vui lòng báo quản trị hệ thống.",
            f"The document's file could not be read from the store ({what_en}). Nothing else "
            "is affected; please tell the system administrator.",
        )
    response = _respond(
        request,
        503,
        "Kho lưu trữ tệp tạm thời không phản hồi. Không có dữ liệu nào bị mất; vui lòng thử lại "
        "sau ít phút.",
        "The file store is briefly unavailable. Nothing was lost; please try again shortly.",
    )
    response.headers["Retry-After"] = "30"
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
        SigningError: signing_error,
        KeyringError: keyring_error,
        BlobError: blob_error,
        500: server_error,
    }
