"""The leader's signing screens: the "Chờ ký" queue, the reader with its sticky action bar, the
confirmation sheet and its passkey ceremony; drafting an outgoing document; live updates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from backend.core.errors import EofficeError, NotFoundError, ValidationError
from backend.core.models import User
from backend.documents import catalogue
from backend.documents.intake import Upload
from backend.documents.render import WIDTHS
from backend.documents.tables import Document
from backend.identity import passkeys
from backend.interchange import connection, directory, replacements
from backend.signing_flow import (
    authority,
    confirm,
    drafts,
    issue,
    run,
    sim,
    sim_batch,
    transactions,
)
from backend.signing_flow.setup import SigningSetup
from backend.web import htmx
from backend.web.views.auth import (
    client_ip,
    current_user,
    json_body,
    relying_party,
    settings_of,
    transaction,
)
from backend.web.views.render import language, render, resources

MiB = 1024 * 1024


def _setup(request: Request) -> SigningSetup:
    setup = resources(request).signing
    if setup is None:
        raise EofficeError(
            "Máy chủ chưa được cấu hình ký số. Hãy liên hệ quản trị viên.",
            "Signing is not configured on this server. Please contact your administrator.",
        )
    return setup


def _tx_json(tx: Any) -> dict[str, object]:
    return {
        "id": tx.id,
        "status": tx.status,
        "method": tx.method,
        "control_code": tx.control_code,
        "expires_at": tx.expires_at.isoformat(),
        "documents": [
            {"id": i.document_id, "result": i.result, "error": i.error} for i in tx.items
        ],
    }


async def queue_page(request: Request) -> Response:
    user, on = current_user(request), authority.today(resources(request).clock)
    async with transaction(request) as db:
        rows = await drafts.to_sign(db, signer_id=user.id, on=on)
        away = await authority.absence_on(db, user.id, on)
        deputy = await db.get(User, away.deputy_id) if away is not None else None
    context = {
        "rows": rows,
        "urgencies": catalogue.URGENCY_LABELS,
        "away": away,
        "deputy": deputy,
    }
    # The live refresh (an SSE event on #live) asks for the list alone.
    block = "queue" if htmx.is_partial(request) else None
    return htmx.vary_on_htmx(render(request, "signing/queue.html", context, block=block))


async def queue_count(request: Request) -> Response:
    """The "Chờ ký" tab's badge (refreshed by the live events that move the queue)."""
    async with transaction(request) as db:
        rows = await drafts.to_sign(
            db,
            signer_id=current_user(request).id,
            on=authority.today(resources(request).clock),
        )
    response = Response(str(len(rows)) if rows else "", media_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


async def sign_view(request: Request) -> Response:
    document_id = request.path_params["document_id"]
    user, on = current_user(request), authority.today(resources(request).clock)
    async with transaction(request) as db:
        rows = await drafts.to_sign(db, signer_id=user.id, on=on)
        row = next((r for r in rows if r.document.id == document_id), None)
        away = await authority.absence_on(db, user.id, on)
        covered = (
            await authority.absence_on(db, row.absent_signer.id, on)
            if row is not None and row.absent_signer is not None
            else None
        )
        grant = await drafts.grant_of(db, document_id)
    if row is None:
        raise NotFoundError(
            "Văn bản này không chờ bạn ký.", "This document does not await your signature."
        )
    main = next(f for f in row.document.files if f.kind == "main")
    context = {
        "row": row,
        "away": away,
        "covered": covered,
        "grant_lines": grant,
        "document": row.document,
        "main": main,
        "widths": WIDTHS,
        "urgencies": catalogue.URGENCY_LABELS,
    }
    return render(request, "signing/view.html", context)


async def prepare(request: Request) -> Response:
    async with request.form() as form:
        ids = [int(str(v)) for v in form.getlist("document_id") if str(v).isdigit()]
        method = str(form.get("method", "passkey"))
    if method == "sim":
        return await _sim_batch_start(request, ids)
    if method not in ("passkey",):
        raise ValidationError("Phương thức ký không hợp lệ.", "Unknown signing method.")
    res, settings = resources(request), settings_of(request)
    async with transaction(request) as db:
        prepared = await transactions.prepare(
            db,
            clock=res.clock,
            blobs=res.blobs,
            setup=_setup(request),
            signer=current_user(request),
            document_ids=ids,
            method=method,
            lifetime=timedelta(seconds=settings.signing_timeout_seconds),
        )
        tx = prepared.transaction
        documents = {d.id: d for d in await _documents(db, [i.document_id for i in tx.items])}
        # A leader signed in without a passkey here (a demo's "sign in as", a new phone): the
        # sheet creates one on this device first, then confirms with it, in one tap.
        has_passkey = bool(await passkeys.passkeys_of(db, current_user(request).id))
        context = {
            "tx": tx,
            "documents": documents,
            "lang": language(request),
            "has_passkey": has_passkey,
            "phone_url": _virtual_phone(request),
        }
    return render(request, "signing/_sheet.html", context)


def _virtual_phone(request: Request) -> str | None:
    """In demo, the MSSP simulator's virtual phone of the signer (the SIM path without a SIM)."""
    phone = current_user(request).phone
    if not settings_of(request).demo or not phone:
        return None
    return f"/mssp-sim/phone/{phone}"


async def _documents(db: Any, ids: list[int]) -> list[Any]:
    return [await db.get_one(Document, i) for i in ids]


async def passkey_options(request: Request) -> Response:
    res, settings = resources(request), settings_of(request)
    async with transaction(request) as db:
        tx = await transactions.get(
            db, request.path_params["tx_id"], signer_id=current_user(request).id
        )
        options = await confirm.passkey_options(
            db,
            res.redis,
            clock=res.clock,
            rp=relying_party(settings),
            tx=tx,
            signer=current_user(request),
        )
    return Response(options, media_type="application/json", headers={"Cache-Control": "no-store"})


async def passkey_confirm(request: Request) -> Response:
    res, settings = resources(request), settings_of(request)
    body = await json_body(request)
    refusal: EofficeError | None = None
    async with transaction(request) as db:
        try:
            tx = await confirm.verify_passkey(
                db,
                res.redis,
                clock=res.clock,
                rp=relying_party(settings),
                tx_id=request.path_params["tx_id"],
                signer=current_user(request),
                credential=body.get("credential", body),
                ip=client_ip(request),
            )
            tx_id = tx.id
        except transactions.SigningFlowError as error:
            refusal = error  # the refusal's audit row commits with this block
    if refusal is not None:
        raise refusal
    done = await run.execute(
        res.sessions,
        res.redis,
        clock=res.clock,
        blobs=res.blobs,
        setup=_setup(request),
        tx_id=tx_id,
    )
    return JSONResponse(_tx_json(done), headers={"Cache-Control": "no-store"})


async def transaction_status(request: Request) -> Response:
    res = resources(request)
    async with transaction(request) as db:
        tx = await transactions.get(
            db, request.path_params["tx_id"], signer_id=current_user(request).id
        )
        await transactions.expire_if_due(db, clock=res.clock, tx=tx)
        await db.refresh(tx)
        body = _tx_json(tx)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def cancel(request: Request) -> Response:
    res = resources(request)
    user = current_user(request)
    async with transaction(request) as db:
        tx = await transactions.get(db, request.path_params["tx_id"], signer_id=user.id)
        await transactions.cancel(db, clock=res.clock, tx=tx, actor_id=user.id)
        await db.refresh(tx)
        body = _tx_json(tx)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def return_draft(request: Request) -> Response:
    res = resources(request)
    async with request.form() as form:
        comment = str(form.get("comment", ""))
    document_id = request.path_params["document_id"]
    async with transaction(request) as db:
        await drafts.return_draft(
            db,
            clock=res.clock,
            leader=current_user(request),
            document_id=document_id,
            comment=comment,
        )
    target = request.url_for("sign_queue").path + "?returned=1"
    return htmx.redirect(RedirectResponse(target, status_code=303), target)


async def _draft_form(request: Request, values: dict[str, str]) -> dict[str, Any]:
    user = current_user(request)
    async with transaction(request) as db:
        signers = await drafts.signer_choices(
            db,
            clock=resources(request).clock,
            agency_id=user.agency_id,
            type_code=values.get("type_code") or None,
        )
        reply_to = None
        if values.get("reply_to", "").isdigit():
            reply_to = await drafts.reply_target(
                db, author=user, document_id=int(values["reply_to"])
            )
    return {
        "signers": signers,
        "types": catalogue.TYPES,
        "urgencies": catalogue.URGENCY_LABELS,
        "values": values,
        "reply_to": reply_to,
        "max_attachments": drafts.MAX_ATTACHMENTS,
        "error": "",
    }


async def draft_signers(request: Request) -> Response:
    """The "Người ký" field again for another document type (the form asks on change)."""
    type_code = request.query_params.get("type_code", "")
    values = {"type_code": type_code, "signer_id": request.query_params.get("signer_id", "")}
    async with transaction(request) as db:
        signers = await drafts.signer_choices(
            db,
            clock=resources(request).clock,
            agency_id=current_user(request).agency_id,
            type_code=type_code if type_code in catalogue.TYPES else None,
        )
    return render(request, "signing/_signers.html", {"signers": signers, "values": values})


async def draft_new(request: Request) -> Response:
    values: dict[str, str] = {}
    reply_to = request.query_params.get("reply_to", "")
    if reply_to.isdigit():
        values["reply_to"] = reply_to
    context = await _draft_form(request, values)
    if context["reply_to"] is not None:
        incoming = context["reply_to"]
        reference = incoming.number_symbol or incoming.subject
        values["subject"] = f"V/v trả lời văn bản số {reference}"
        values["recipients"] = incoming.issuer_name
        values["type_code"] = "CV"  # a reply is usually a công văn
    return render(request, "signing/draft_new.html", context)


async def _uploads(items: list[Any], fallback: str) -> list[Upload]:
    # A file input left empty still sends a part, with no file name and no bytes.
    return [
        Upload(item.filename or fallback, item.content_type or "", await item.read())
        for item in items
        if isinstance(item, UploadFile) and item.filename
    ]


async def draft_create(request: Request) -> Response:
    res, settings = resources(request), settings_of(request)
    limit = settings.max_upload_mb * MiB
    async with request.form(
        max_files=2 + drafts.MAX_ATTACHMENTS, max_part_size=limit + MiB
    ) as form:
        fields = {k: str(v) for k, v in form.multi_items() if isinstance(v, str)}
        found = await _uploads([form.get("pdf")], "du-thao.pdf")
        upload = found[0] if found else None
        attachments = await _uploads(form.getlist("attachments"), "phu-luc.pdf")
    try:
        if upload is None or not upload.data:
            raise ValidationError("Hãy chọn tệp PDF dự thảo.", "Choose the draft PDF.")
        draft_form = drafts.parse_draft(fields)
        async with transaction(request) as db:
            document = await drafts.create_draft(
                db,
                clock=res.clock,
                blobs=res.blobs,
                workers=res.pdf_workers,
                author=current_user(request),
                form=draft_form,
                pdf=upload,
                attachments=attachments,
                max_bytes=limit,
                max_pages=settings.max_pages,
            )
            document_id = document.id
    except EofficeError as error:
        context = await _draft_form(request, fields)
        context["error"] = error.message(language(request))
        return render(request, "signing/draft_new.html", context, status_code=error.status_code)
    # The author follows it in "Dự thảo của tôi" (the document page is the signer's now).
    target = f"{request.url_for('draft_new').path}?sent={document_id}"
    return RedirectResponse(target, status_code=303)


async def sim_start(request: Request) -> Response:
    async with request.form() as form:
        ids = [int(str(v)) for v in form.getlist("document_id") if str(v).isdigit()]
    res, settings = resources(request), settings_of(request)
    setup, user = _setup(request), current_user(request)
    client = sim.client_for(settings)
    try:
        async with transaction(request) as db:
            prepared = await transactions.prepare(
                db,
                clock=res.clock,
                blobs=res.blobs,
                setup=setup,
                signer=user,
                document_ids=ids,
                method="sim",
                lifetime=timedelta(seconds=settings.signing_timeout_seconds),
            )
            tx = prepared.transaction
            if prepared.reused:
                raise transactions.SigningFlowError(
                    "Yêu cầu ký qua SIM đã được gửi tới điện thoại của bạn.",
                    "The SIM signing request was already sent to your phone.",
                )
            await sim.start(
                db, res.redis, clock=res.clock, setup=setup, client=client, tx=tx, signer=user
            )
            documents = {d.id: d for d in await _documents(db, [i.document_id for i in tx.items])}
            context = {
                "tx": tx,
                "documents": documents,
                "seconds": settings.signing_timeout_seconds,
                "phone_url": _virtual_phone(request),
            }
    finally:
        await client.aclose()
    # Its poll job was queued with it (the commit kicked the runners); if the process running
    # the job dies, another process takes the poll over.
    return render(request, "signing/_sim_sheet.html", context)


async def issue_page(request: Request) -> Response:
    clerk = current_user(request)
    async with transaction(request) as db:
        documents = await issue.issuable(db, agency_id=clerk.agency_id)
        issued = await issue.recently_issued(db, agency_id=clerk.agency_id)
        # The recipient picker's quick choices: the province's groups, the agency's units.
        groups = await directory.groups(db, agency=clerk.agency) if documents else []
        if documents:
            # The picker's index, built now (in the background) rather than at the first search.
            await directory.warm(db)
        # What a new document may replace (type 3): the agency's documents sent over the axis.
        replaceable = (
            await replacements.replaceable(db, agency_id=clerk.agency_id) if documents else []
        )
    context = {
        "documents": documents,
        "issued": issued,
        "urgencies": catalogue.URGENCY_LABELS,
        "groups": groups,
        "replaceable": replaceable,
    }
    return render(request, "signing/issue.html", context)


async def issue_document(request: Request) -> Response:
    res = resources(request)
    document_id = request.path_params["document_id"]
    clerk = current_user(request)
    # The picker's chips: agency codes (`recipient`) and our own units' ids (`unit`).
    async with request.form(max_fields=directory.MAX_RECIPIENTS + 100) as form:
        codes = [str(v) for v in form.getlist("recipient")]
        units = [str(v) for v in form.getlist("unit")]
        replaces = str(form.get("replaces", "")).strip()
    async with transaction(request) as db:
        chosen = await directory.resolve(db, agency=clerk.agency, codes=codes, unit_ids=units)
        if any(r.field == "recipient" for r in chosen) and not connection.configured(
            settings_of(request)
        ):
            raise ValidationError(
                "Máy chủ chưa kết nối Trục liên thông văn bản quốc gia nên chưa gửi được cho "
                "cơ quan khác. Hãy bỏ chọn các cơ quan nhận hoặc báo quản trị hệ thống.",
                "This server is not connected to the national document axis, so nothing can "
                "be sent to other agencies. Remove them or tell the administrator.",
            )
        await issue.issue(
            db,
            clock=res.clock,
            blobs=res.blobs,
            setup=_setup(request),
            clerk=clerk,
            document_id=document_id,
            recipient_codes=[r.value for r in chosen if r.field == "recipient"],
            unit_ids=[int(r.value) for r in chosen if r.field == "unit"],
            replaces_document_id=int(replaces) if replaces.isdigit() else None,
        )
    target = request.url_for("document", document_id=document_id).path + "?issued=1"
    return htmx.redirect(RedirectResponse(target, status_code=303), target)


async def _sim_batch_rows(request: Request, batch_id: str) -> tuple[Any, list[sim_batch.Row]]:
    async with transaction(request) as db:
        batch = await sim_batch.get(db, batch_id, signer_id=current_user(request).id)
        return batch, await sim_batch.rows(db, batch)


async def _sim_batch_start(request: Request, ids: list[int]) -> Response:
    """Queue the selected documents for SIM signing and send the first one to the phone."""
    res, settings = resources(request), settings_of(request)
    _setup(request)
    if not settings.effective_mssp_url:
        raise EofficeError(
            "Chưa cấu hình ký số qua SIM trên máy chủ.", "SIM signing is not configured."
        )
    async with transaction(request) as db:
        batch = await sim_batch.create(
            db, clock=res.clock, signer=current_user(request), document_ids=ids
        )
        batch_id = batch.id
    await sim_batch.advance(res, batch_id)
    batch, rows = await _sim_batch_rows(request, batch_id)
    context = {"batch": batch, "rows": rows, "seconds": settings.signing_timeout_seconds}
    return render(request, "signing/_sim_batch_sheet.html", context)


def _row_json(row: sim_batch.Row) -> dict[str, object]:
    return {
        "document": row.document.id,
        "status": row.status,
        "code": row.code,
        "error": row.error,
        "transaction": row.transaction_id,
    }


async def sim_batch_status(request: Request) -> Response:
    batch, rows = await _sim_batch_rows(request, request.path_params["batch_id"])
    body = {"id": batch.id, "status": batch.status, "documents": [_row_json(r) for r in rows]}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def sim_batch_cancel(request: Request) -> Response:
    await sim_batch.cancel(
        resources(request), request.path_params["batch_id"], signer=current_user(request)
    )
    return await sim_batch_status(request)
