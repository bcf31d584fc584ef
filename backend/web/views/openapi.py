"""/api/v1/openapi.json: the JSON API described for integrators (a test keeps it in step with
the routes)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.core.settings import Settings


def _op(
    summary: str,
    scope: str,
    *,
    params: list[dict[str, Any]] | None = None,
    responses: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": [scope]}],
        "parameters": params or [],
        "responses": {
            code: {"description": text}
            for code, text in {
                "200": "OK",
                "401": "Missing, expired or revoked token",
                "403": f"The token lacks the {scope} scope",
                **(responses or {}),
            }.items()
        },
    }
    if body:
        operation["requestBody"] = body
    return operation


def _query(name: str, description: str, schema: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": schema},
    }


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


INCOMING_FORM = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["type_code", "subject", "issuer_name"],
                "properties": {
                    "type_code": {"type": "string", "description": "Decree 30 type code (QD, CV…)"},
                    "number_symbol": {"type": "string", "example": "123/QĐ-UBND"},
                    "issue_date": {"type": "string", "format": "date"},
                    "issuer_name": {"type": "string"},
                    "issuer_code": {"type": "string", "example": "000.00.00.H53"},
                    "subject": {"type": "string"},
                    "urgency": {"type": "integer", "enum": [0, 1, 2, 3, 4]},
                    "deadline": {"type": "string", "format": "date"},
                    "source": {"type": "string"},
                    "confidentiality": {
                        "type": "string",
                        "description": "Mật/Tối mật/Tuyệt mật are refused",
                    },
                    "link_to": {"type": "integer", "description": "register as a copy of"},
                    "pdf": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "scan": {"type": "array", "items": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
}


def document(settings: Settings) -> dict[str, Any]:
    read, write = "documents:read", "documents:write"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "eOffice API",
            "version": "1",
            "description": "Văn bản và sổ đăng ký của cơ quan — documents and registers.",
        },
        "servers": [{"url": settings.origin}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (ES256)"}
            }
        },
        "paths": {
            "/api/v1/me": {"get": _op("The service account and its agency", "profile:read")},
            "/api/v1/documents": {
                "get": _op(
                    "List or search documents of the agency, newest first",
                    read,
                    params=[
                        _query("q", "Search words; diacritics optional"),
                        _query("direction", "incoming | outgoing | internal"),
                        _query("status", "Status code (repeatable)"),
                        _query("type", "Type code"),
                        _query("from", "Created on or after (YYYY-MM-DD)"),
                        _query("to", "Created on or before (YYYY-MM-DD)"),
                        _query("after", "Cursor from the previous page's `next`"),
                        _query("limit", "Page size, at most 200", "integer"),
                    ],
                ),
                "post": _op(
                    "Register an incoming document (files as multipart)",
                    write,
                    body=INCOMING_FORM,
                    responses={
                        "201": "Registered, with its số đến",
                        "409": "Already registered: see `original`",
                        "422": "Invalid fields or files; nothing stored",
                    },
                ),
            },
            "/api/v1/documents/{document_id}": {
                "get": _op(
                    "One document with its files and versions",
                    read,
                    params=[_path("document_id")],
                    responses={"404": "Not found"},
                ),
            },
            "/api/v1/documents/{document_id}/versions/{version_id}": {
                "get": _op(
                    "Download one immutable file version",
                    read,
                    params=[_path("document_id"), _path("version_id")],
                    responses={"404": "Not found"},
                ),
            },
            "/api/v1/registers/{direction}": {
                "get": _op(
                    "Register entries (sổ đăng ký) for a period",
                    read,
                    params=[
                        {
                            "name": "direction",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": ["incoming", "outgoing"]},
                        },
                        _query("from", "First day (YYYY-MM-DD)"),
                        _query("to", "Last day"),
                    ],
                ),
            },
        },
    }


async def openapi(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    return JSONResponse(document(settings))
