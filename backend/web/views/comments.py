"""Comments (ý kiến) on a document, as an htmx component included by the readers; and the
"replies" panel of an incoming document (drafts answering it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from backend.core import idempotency
from backend.documents import catalogue, comments, queries
from backend.documents.tables import Document
from backend.identity import policy
from backend.identity.policy import Action
from backend.signing_flow import drafts
from backend.web import htmx
from backend.web.views.auth import current_principal, current_user, transaction
from backend.web.views.render import render, resources


def _context(document_id: int, rows: Sequence[object]) -> dict[str, object]:
    # A fresh key per rendered form: a double tap or a retried POST of that form stores one.
    return {"document_id": document_id, "comments": rows, "client_key": uuid.uuid4().hex}


async def comments_panel(request: Request) -> Response:
    document_id = request.path_params["document_id"]
    async with transaction(request) as db:
        await comments.visible_document(db, current_principal(request), document_id)
        rows = await comments.comments_of(db, document_id)
    block = "list" if request.query_params.get("list") else None
    response = render(request, "documents/_comments.html", _context(document_id, rows), block=block)
    response.headers["Cache-Control"] = "no-store"
    return response


async def comment_add(request: Request) -> Response:
    document_id = request.path_params["document_id"]
    async with request.form() as form:
        body = str(form.get("body", ""))
        client_key = (
            idempotency.parse_key(
                str(form.get(idempotency.FORM_FIELD, "")), request.headers.get(idempotency.HEADER)
            )
            or ""
        )
    res, user = resources(request), current_user(request)
    async with transaction(request) as db:
        document = await comments.visible_document(db, current_principal(request), document_id)
        added = await comments.add_comment(
            db, clock=res.clock, author=user, document=document, body=body, client_key=client_key
        )
        comment_id = added.comment.id
    if htmx.is_htmx(request):
        async with transaction(request) as db:
            rows = await comments.comments_of(db, document_id)
        return render(request, "documents/_comments.html", _context(document_id, rows))
    if "application/json" in request.headers.get("accept", ""):
        body_json = {"id": comment_id, "created": added.created}
        return JSONResponse(body_json, status_code=201 if added.created else 200)
    back = request.headers.get("referer", "")
    own = request.url_for("document", document_id=document_id).path
    target = back if back.startswith(str(request.base_url)) else own
    return RedirectResponse(target, status_code=303)


async def replies_panel(request: Request) -> Response:
    document_id = request.path_params["document_id"]
    principal = current_principal(request)
    async with transaction(request) as db:
        document = await comments.visible_document(db, principal, document_id)
        replies = [
            (reply, await comments.may_view(db, principal, reply))
            for reply in await drafts.replies_to(db, document_id)
        ]
        may_draft = document.direction == catalogue.Direction.INCOMING and policy.may(
            principal, Action.DRAFT_DOCUMENT, await queries.load_ref(db, document)
        )
        draft = await drafts.draft_of(db, document_id)
        answers = None
        if draft is not None and draft.reply_to_id is not None:
            incoming = await db.get_one(Document, draft.reply_to_id)
            answers = incoming if await comments.may_view(db, principal, incoming) else None
    context = {
        "document": document,
        "replies": replies,
        "answers": answers,
        "may_draft": may_draft,
    }
    response = render(request, "documents/_replies.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response
