"""Documents on screens: inboxes and search, the clerk's intake desk, the page-by-page reader,
downloads and the printable registers."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backend.core.clock import VIETNAM
from backend.core.errors import ValidationError
from backend.core.models import Agency
from backend.documents import catalogue, queries, reading, registerbook, search
from backend.documents.forms import FormErrors, parse_incoming
from backend.documents.intake import (
    DuplicateFoundError,
    Limits,
    Registrar,
    Upload,
    find_duplicate,
    register_incoming,
)
from backend.documents.intake_errors import TooLargeError
from backend.documents.render import WIDTHS
from backend.documents.tables import Document
from backend.identity import policy
from backend.identity.policy import Action
from backend.interchange import replacements
from backend.web import htmx
from backend.web.views import workflow
from backend.web.views.auth import current_principal, current_user, settings_of, transaction
from backend.web.views.guard import forbidden
from backend.web.views.render import attachment, language, render, resources

MiB = 1024 * 1024


def _today(request: Request) -> date:
    return resources(request).clock.now().astimezone(VIETNAM).date()


def _date_param(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters(request: Request, inbox: queries.Inbox) -> queries.Filters:
    params = request.query_params
    principal = current_principal(request)
    urgency = params.get("urgency", "")
    holder = inbox.filters.mine or inbox.filters.inform
    return queries.Filters(
        direction=inbox.filters.direction,
        statuses=inbox.filters.statuses,
        type_code=params.get("type") or None,
        urgency=int(urgency) if urgency.isdigit() else None,
        date_from=_date_param(params.get("from")),
        date_to=_date_param(params.get("to")),
        issuer=params.get("issuer", ""),
        mine_of=principal.user_id if holder else None,
        mine_unit=policy.held_unit(principal) if holder else None,
        inform=inbox.filters.inform,
    )


def _inboxes_for(request: Request) -> list[queries.Inbox]:
    principal = current_principal(request)
    return [inbox for inbox in queries.INBOXES.values() if policy.may(principal, inbox.action)]


def _common(request: Request) -> dict[str, Any]:
    return {
        "types": catalogue.TYPES,
        "urgencies": catalogue.URGENCY_LABELS,
        "sources": catalogue.SOURCE_LABELS,
        "statuses": catalogue.STATUS_LABELS,
    }


async def documents_page(request: Request) -> Response:
    inboxes = _inboxes_for(request)
    if not inboxes:
        raise forbidden()
    slug = request.query_params.get("inbox", inboxes[0].slug)
    inbox = next((i for i in inboxes if i.slug == slug), inboxes[0])
    filters = _filters(request, inbox)
    cursor = queries.Cursor.decode(request.query_params.get("after", ""))
    async with transaction(request) as db:
        page = await queries.list_documents(
            db, principal=current_principal(request), filters=filters, after=cursor
        )
    context = {
        "inboxes": inboxes,
        "inbox": inbox,
        "page": page,
        "filters": filters,
        "query": request.query_params,
        **_common(request),
    }
    # The next page ("Show more"), or the first page again when a live event refreshes the list.
    refresh = cursor is not None or request.query_params.get("live") == "1"
    block = "items" if htmx.is_partial(request) and refresh else None
    response = htmx.vary_on_htmx(render(request, "documents/list.html", context, block=block))
    if block:
        response.headers["Cache-Control"] = "no-store"
    return response


async def documents_search(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()
    before = queries.Cursor.decode(request.query_params.get("truoc", ""))
    principal = current_principal(request)
    async with transaction(request) as db:
        found = await search.search(
            db,
            query=query,
            scope=queries.document_scope(principal),
            keys=queries.access_keys(principal),
            limit=50,
            before=before,
        )
    context = {
        "q": query,
        "results": found.documents,
        "older": found.older_than.encode() if found.older_than else None,
        "earlier_page": before is not None,
        **_common(request),
    }
    block = "results" if htmx.is_partial(request) else None
    return htmx.vary_on_htmx(render(request, "documents/search.html", context, block=block))


async def _visible(request: Request, document_id: int) -> tuple[Document, Agency | None]:
    async with transaction(request) as db:
        document = await reading.get_document(db, document_id)
        agency = await db.get(Agency, document.agency_id)
        document_ref = await queries.load_ref(db, document)
    if not policy.may(current_principal(request), Action.VIEW_DOCUMENT, document_ref):
        raise reading.not_found()  # never confirm that a document one may not see exists
    return document, agency


async def document_view(request: Request) -> Response:
    document, agency = await _visible(request, request.path_params["document_id"])
    main = next((f for f in document.files if f.kind == "main"), None)
    async with transaction(request) as db:
        handling = await workflow.handling_context(db, request, document)
        links = await replacements.of_document(db, document)
    context = {
        **handling,
        "links": links,
        "document": document,
        "agency": agency,
        "main": main,
        "widths": WIDTHS,
        "type": catalogue.TYPES.get(document.type_code),
        "urgency": catalogue.URGENCY_LABELS.get(catalogue.Urgency(document.urgency)),
        "source": catalogue.SOURCE_LABELS.get(catalogue.Source(document.source))
        if document.source
        else "",
        **_common(request),
    }
    return render(request, "documents/view.html", context)


async def document_page_image(request: Request) -> Response:
    document, _ = await _visible(request, request.path_params["document_id"])
    sha, page = request.path_params["sha"], request.path_params["page"]
    _, version = reading.find_version(document, sha256=sha)
    width = int(request.query_params.get("w", WIDTHS[0]) or WIDTHS[0])
    if width not in WIDTHS or not 1 <= page <= version.page_count:
        return Response(status_code=404)
    image = await resources(request).pages.image(sha256=sha, page=page - 1, width=width)
    # Content-addressed URL: the bytes behind it never change. Private: it is a person's document.
    return Response(
        image,
        media_type="image/webp",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


async def document_download(request: Request) -> Response:
    document, _ = await _visible(request, request.path_params["document_id"])
    return await download(request, document)


async def download(request: Request, document: Document) -> Response:
    """One stored version of one of `document`'s files (path parameter `version_id`)."""
    file, version = reading.find_version(document, version_id=request.path_params["version_id"])
    data = await resources(request).blobs.get(version.sha256)
    name = file.name if "." in file.name else f"{file.name}.pdf"
    return attachment(data, filename=name, media_type=version.media_type, sha256=version.sha256)


async def document_new(request: Request) -> Response:
    return render(request, "documents/new.html", {"values": {}, "problems": {}, **_common(request)})


async def _uploads(request: Request) -> tuple[dict[str, str], list[Upload], list[Upload]]:
    settings = settings_of(request)
    limit = settings.max_upload_mb * MiB
    declared = int(request.headers.get("content-length", "0") or 0)
    if declared > limit * 4:
        raise TooLargeError("(tải lên)", settings.max_upload_mb)
    # The form's spooled files are closed when the block ends.
    async with request.form(max_files=200, max_fields=200, max_part_size=limit + MiB) as form:
        fields = {k: str(v) for k, v in form.multi_items() if isinstance(v, str)}
        uploads: dict[str, list[Upload]] = {"pdf": [], "scan": []}
        for key, found in uploads.items():
            for item in form.getlist(key):
                if isinstance(item, UploadFile) and item.filename:
                    data = await item.read()
                    if data:
                        found.append(Upload(item.filename, item.content_type or "", data))
    return fields, uploads["pdf"], uploads["scan"]


async def document_create(request: Request) -> Response:
    fields, pdfs, scans = await _uploads(request)
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
                registrar=Registrar.clerk(current_user(request)),
                form=form,
                pdfs=pdfs,
                scans=scans,
                limits=Limits(settings.max_upload_mb * MiB, settings.max_pages),
                link_to=int(link_raw) if link_raw.isdigit() else None,
                checker=res.signature_checker,
            )
            document_id = document.id
    except (FormErrors, DuplicateFoundError, ValidationError) as error:
        problems = error.problems if isinstance(error, FormErrors) else {}
        duplicate = (
            {
                "id": error.original_id,
                "register_number": error.register_number,
                "number_symbol": error.number_symbol,
            }
            if isinstance(error, DuplicateFoundError)
            else None
        )
        context = {
            "values": fields,
            "error": error.message(language(request)),
            "problems": problems,
            "duplicate": duplicate,
            **_common(request),
        }
        return render(request, "documents/new.html", context, status_code=error.status_code)
    target = request.url_for("document", document_id=document_id).path + "?registered=1"
    return RedirectResponse(target, status_code=303)


async def duplicate_check(request: Request) -> Response:
    params = dict(request.query_params)
    duplicate = None
    try:
        form = parse_incoming(
            {**params, "subject": "kiểm tra trùng", "type_code": "CV"}, today=_today(request)
        )
        async with transaction(request) as db:
            duplicate = await find_duplicate(
                db, agency_id=current_principal(request).agency_id, form=form
            )
    except ValidationError:
        duplicate = None
    return render(request, "documents/_duplicate.html", {"duplicate": duplicate})


async def register_pdf(request: Request) -> Response:
    direction = request.path_params["direction"]
    if direction not in (catalogue.Direction.INCOMING, catalogue.Direction.OUTGOING):
        return Response(status_code=404)
    today = _today(request)
    start = _date_param(request.query_params.get("from")) or today.replace(day=1)
    end = _date_param(request.query_params.get("to")) or today
    if end < start or (end - start).days > 366:
        raise ValidationError(
            "Khoảng thời gian không hợp lệ (tối đa một năm).", "Invalid period (one year at most)."
        )
    principal = current_principal(request)
    async with transaction(request) as db:
        rows = await reading.register_rows(
            db, agency_id=principal.agency_id, direction=direction, start=start, end=end
        )
        agency = await db.get_one(Agency, principal.agency_id)
        parent = await db.get(Agency, agency.parent_id) if agency.parent_id else None
    heading = registerbook.RegisterHeading(
        agency_name=agency.name,
        parent_name=parent.name if parent else "",
        direction=catalogue.Direction(direction),
        start=start,
        end=end,
    )
    pdf = registerbook.render_register(heading, rows)
    name = f"so-{'den' if direction == 'incoming' else 'di'}-{start}-{end}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )
