"""/api/v1 documents and registers for provincial platforms (service-account bearer tokens).

Same rules as the pages: a service account acts inside its own agency; state-secret documents
are refused; bad files are refused with the clerk's messages; duplicates are never registered
twice (409 with the original's id, or `link_to` to link the copy).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.documents import catalogue, queries, reading, search
from backend.documents.forms import FormErrors, parse_incoming
from backend.documents.intake import DuplicateFoundError, Limits, Registrar, register_incoming
from backend.documents.tables import Document, FileVersion
from backend.identity.policy import ServicePrincipal
from backend.web.views.auth import settings_of, transaction
from backend.web.views.documents import MiB, _date_param, _today, _uploads
from backend.web.views.render import resources


def _service(request: Request) -> ServicePrincipal:
    principal: ServicePrincipal = request.state.api_principal
    return principal


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def document_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "direction": document.direction,
        "type": document.type_code,
        "number_symbol": document.number_symbol,
        "issue_date": _iso(document.issue_date),
        "issuer": {"name": document.issuer_name, "code": document.issuer_code or None},
        "subject": document.subject,
        "urgency": document.urgency,
        "deadline": _iso(document.deadline),
        "status": document.status,
        "register": {
            "year": document.register_year,
            "number": document.register_number,
            "series": document.register_series,
        },
        "duplicate_of": document.duplicate_of_id,
        "page_count": document.page_count,
        "received_at": _iso(document.received_at),
    }


def document_with_files_json(request: Request, document: Document) -> dict[str, Any]:
    files = [
        {
            "id": file.id,
            "kind": file.kind,
            "name": file.name,
            "versions": [_version_json(request, document, v) for v in file.versions],
        }
        for file in document.files
    ]
    return {**document_json(document), "files": files}


def _version_json(request: Request, document: Document, v: FileVersion) -> dict[str, Any]:
    download = request.url_for("api_document_version", document_id=document.id, version_id=v.id)
    return {
        "id": v.id,
        "version": v.version,
        "sha256": v.sha256,
        "size": v.size,
        "media_type": v.media_type,
        "reason": v.reason,
        "download": download.path,
    }


async def list_documents(request: Request) -> Response:
    service = _service(request)
    params = request.query_params
    scope = Document.agency_id == service.agency_id
    async with transaction(request) as db:
        if params.get("q"):
            found = await search.search(db, query=params["q"], scope=scope, limit=50)
            return _json({"items": [document_json(d) for d in found.documents], "next": None})
        filters = queries.Filters(
            direction=params.get("direction") or None,
            statuses=tuple(params.getlist("status")),
            type_code=params.get("type") or None,
            date_from=_date_param(params.get("from")),
            date_to=_date_param(params.get("to")),
        )
        page = await queries.list_rows(
            db,
            scope=scope,
            filters=filters,
            after=queries.Cursor.decode(params.get("after", "")),
            limit=min(int(params.get("limit", "50") or 50), 200),
        )
    return _json({"items": [document_json(d) for d in page.items], "next": page.next_cursor})


async def _own(request: Request) -> Document:
    async with transaction(request) as db:
        document = await reading.get_document(db, request.path_params["document_id"])
    if document.agency_id != _service(request).agency_id:
        raise reading.not_found()
    return document


async def get_document(request: Request) -> Response:
    return _json(document_with_files_json(request, await _own(request)))


async def download_version(request: Request) -> Response:
    document = await _own(request)
    _, version = reading.find_version(document, version_id=request.path_params["version_id"])
    data = await resources(request).blobs.get(version.sha256)
    return Response(
        data, media_type=version.media_type, headers={"X-Content-SHA256": version.sha256}
    )


async def create_incoming(request: Request) -> Response:
    fields, pdfs, scans = await _uploads(request)
    service = _service(request)
    settings = settings_of(request)
    res = resources(request)
    link_raw = fields.get("link_to", "")
    try:
        form = parse_incoming(fields, today=_today(request))
        async with transaction(request) as db:
            document = await register_incoming(
                db,
                clock=res.clock,
                blobs=res.blobs,
                workers=res.pdf_workers,
                registrar=Registrar(
                    agency_id=service.agency_id,
                    user_id=None,
                    via=f"service-account:{service.service_account_id}",
                ),
                form=form,
                pdfs=pdfs,
                scans=scans,
                limits=Limits(settings.max_upload_mb * MiB, settings.max_pages),
                link_to=int(link_raw) if link_raw.isdigit() else None,
                checker=res.signature_checker,
            )
            body = document_with_files_json(request, document)
    except DuplicateFoundError as duplicate:
        return _json(
            {
                "error": {
                    "status": 409,
                    "message": duplicate.message_vi,
                    "message_en": duplicate.message_en,
                    "original": duplicate.original_id,
                }
            },
            409,
        )
    except FormErrors as errors:
        problems = {
            field: {"message": vi, "message_en": en} for field, (vi, en) in errors.problems.items()
        }
        return _json(
            {
                "error": {
                    "status": 422,
                    "message": errors.message_vi,
                    "message_en": errors.message_en,
                    "fields": problems,
                }
            },
            422,
        )
    return _json(body, 201)


async def register_json(request: Request) -> Response:
    direction = request.path_params["direction"]
    if direction not in (catalogue.Direction.INCOMING, catalogue.Direction.OUTGOING):
        raise reading.not_found()
    today = _today(request)
    start = _date_param(request.query_params.get("from")) or date(today.year, 1, 1)
    end = _date_param(request.query_params.get("to")) or today
    async with transaction(request) as db:
        rows = await reading.register_rows(
            db, agency_id=_service(request).agency_id, direction=direction, start=start, end=end
        )
    return _json(
        {
            "direction": direction,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "entries": [document_json(d) for d in rows],
        }
    )
