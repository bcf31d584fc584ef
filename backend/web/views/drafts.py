"""The author's side of outgoing drafts: "Dự thảo của tôi", one draft with the leader's return
comment, sending a revised draft again, and downloading one's own draft's files."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backend.core.errors import EofficeError, ValidationError
from backend.documents import catalogue
from backend.documents.intake import Upload
from backend.signing_flow import drafts
from backend.web import htmx
from backend.web.views import documents
from backend.web.views.auth import current_user, settings_of, transaction
from backend.web.views.render import language, render, resources

MiB = 1024 * 1024


async def my_drafts(request: Request) -> Response:
    async with transaction(request) as db:
        rows = await drafts.my_drafts(db, author_id=current_user(request).id)
    context = {"rows": rows, "urgencies": catalogue.URGENCY_LABELS}
    block = "list" if htmx.is_partial(request) else None
    return htmx.vary_on_htmx(render(request, "drafts/mine.html", context, block=block))


async def _page(request: Request, *, error: str = "", status_code: int = 200) -> Response:
    async with transaction(request) as db:
        mine = await drafts.author_draft(
            db, author=current_user(request), document_id=request.path_params["document_id"]
        )
        answers = (
            await db.get(type(mine.document), mine.draft.reply_to_id)
            if mine.draft.reply_to_id is not None
            else None
        )
        # A returned draft may go to another signer (the one named is away, their grant ended).
        signers = (
            await drafts.signer_choices(
                db,
                clock=resources(request).clock,
                agency_id=mine.document.agency_id,
                type_code=mine.document.type_code,
            )
            if mine.document.status == catalogue.Status.RETURNED
            else []
        )
    current = f"g{mine.draft.grant_id}" if mine.draft.grant_id else str(mine.draft.signer_id)
    context = {
        "signers": signers,
        "values": {"signer_id": current},
        "mine": mine,
        "document": mine.document,
        "answers": answers,
        "error": error,
        "urgencies": catalogue.URGENCY_LABELS,
    }
    return render(request, "drafts/view.html", context, status_code=status_code)


async def draft_view(request: Request) -> Response:
    return await _page(request)


async def resubmit(request: Request) -> Response:
    res, settings = resources(request), settings_of(request)
    limit = settings.max_upload_mb * MiB
    document_id = request.path_params["document_id"]
    async with request.form(max_files=1, max_part_size=limit + MiB) as form:
        note = str(form.get("note", ""))
        signer_choice = str(form.get("signer_id", ""))
        item = form.get("pdf")
        upload = (
            Upload(item.filename or "du-thao.pdf", item.content_type or "", await item.read())
            if isinstance(item, UploadFile) and item.filename
            else None
        )
    try:
        if upload is not None and not upload.data:
            raise ValidationError("Tệp dự thảo đã chọn bị rỗng.", "The chosen draft file is empty.")
        async with transaction(request) as db:
            await drafts.resubmit_draft(
                db,
                clock=res.clock,
                blobs=res.blobs,
                workers=res.pdf_workers,
                author=current_user(request),
                document_id=document_id,
                pdf=upload,
                note=note,
                max_bytes=limit,
                max_pages=settings.max_pages,
                signer_choice=signer_choice,
            )
    except EofficeError as error:
        return await _page(
            request, error=error.message(language(request)), status_code=error.status_code
        )
    target = request.url_for("draft_view", document_id=document_id).path + "?resent=1"
    return htmx.redirect(RedirectResponse(target, status_code=303), target)


async def draft_file(request: Request) -> Response:
    async with transaction(request) as db:
        mine = await drafts.author_draft(
            db, author=current_user(request), document_id=request.path_params["document_id"]
        )
    return await documents.download(request, mine.document)
