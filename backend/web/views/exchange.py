"""Pages of the exchange over the national axis: the clerk's "Văn bản đến qua trục" inbox (look,
register or return, answer a recall or an update), a sent document's tracking per recipient
(resend, recall, update) and "Văn bản đã gửi"."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backend.core.errors import EofficeError, NotFoundError
from backend.documents import catalogue
from backend.documents.intake import DuplicateFoundError, Limits
from backend.documents.tables import Document
from backend.interchange import outbox, reception, replacements, statuses, tracking, updates
from backend.interchange.packet import DocumentPacket
from backend.interchange.tables import AxisReceived, ReceivedState
from backend.web import htmx
from backend.web.views.auth import current_user, settings_of, transaction
from backend.web.views.render import attachment, language, render, resources

MiB = 1024 * 1024


def _services(request: Request) -> reception.Services:
    res, settings = resources(request), settings_of(request)
    return reception.Services(
        blobs=res.blobs,
        workers=res.pdf_workers,
        checker=res.signature_checker,
        limits=Limits(max_bytes=settings.max_upload_mb * MiB, max_pages=settings.max_pages),
        max_packet_bytes=settings.axis_max_packet_mb * MiB,
    )


async def inbox_page(request: Request) -> Response:
    agency_id = current_user(request).agency_id
    async with transaction(request) as db:
        waiting = await reception.inbox(db, agency_id=agency_id)
        recalls = await reception.recalls(db, agency_id=agency_id)
        changes = await updates.waiting(db, agency_id=agency_id)
    context = {
        "waiting": waiting,
        "recalls": recalls,
        "updates": changes,
        "urgencies": catalogue.URGENCY_LABELS,
        "quarantined": ReceivedState.QUARANTINED,
    }
    return render(request, "exchange/inbox.html", context)


async def _packet(request: Request, row_sha: str, max_bytes: int) -> DocumentPacket | None:
    try:
        packet = await reception.packet_of_bytes(
            await resources(request).blobs.get(row_sha), max_bytes=max_bytes
        )
    except EofficeError:
        return None
    return packet


async def received_view(
    request: Request,
    *,
    error: str = "",
    status_code: int = 200,
    duplicate: DuplicateFoundError | None = None,
) -> Response:
    services = _services(request)
    async with transaction(request) as db:
        row = await reception.get(
            db,
            agency_id=current_user(request).agency_id,
            received_id=request.path_params["received_id"],
        )
        document = await db.get(Document, row.document_id) if row.document_id else None
        original = await db.get(AxisReceived, row.original_id) if row.original_id else None
        later = await updates.later(db, row)
        links = await replacements.of_received(db, row)
    packet = await _packet(request, row.packet_sha256, services.max_packet_bytes)
    context = {
        "row": row,
        "packet": packet,
        "document": document,
        "original": original,
        "later": later,
        "links": links,
        "update_waiting": row.state == ReceivedState.UPDATE,
        "files": row.checks.get("files", []),
        "urgencies": catalogue.URGENCY_LABELS,
        "pending": row.state == ReceivedState.PENDING,
        "returnable": row.state in reception.INBOX_STATES,
        "quarantined": row.state == ReceivedState.QUARANTINED,
        "recall_waiting": row.recall == "requested" and row.state == ReceivedState.REGISTERED,
        "type_name": catalogue.TYPES[reception.local_type(packet.doc_type.name)].name
        if packet
        else "",
        "error": error,
        # The paper copy (or another arrival) already registered: offered as a link, which
        # keeps its số đến, as on the intake form.
        "duplicate": {
            "id": duplicate.original_id,
            "register_number": duplicate.register_number,
            "number_symbol": duplicate.number_symbol,
        }
        if duplicate
        else None,
    }
    return render(request, "exchange/received.html", context, status_code=status_code)


async def received_file(request: Request) -> Response:
    services = _services(request)
    async with transaction(request) as db:
        row = await reception.get(
            db,
            agency_id=current_user(request).agency_id,
            received_id=request.path_params["received_id"],
        )
    packet = await _packet(request, row.packet_sha256, services.max_packet_bytes)
    index = request.path_params["index"]
    if packet is None or not 0 <= index < len(packet.attachments):
        raise NotFoundError("Không có tệp này.", "No such file.")
    item = packet.attachments[index]
    pdf = item.data.startswith(b"%PDF")
    return attachment(
        item.data,
        filename=item.name or f"tep-{index + 1}{'.pdf' if pdf else ''}",
        media_type="application/pdf" if pdf else "application/octet-stream",
    )


async def _act(request: Request, action: str) -> Response:
    res = resources(request)
    clerk = current_user(request)
    received_id = request.path_params["received_id"]
    form = await request.form()
    reason = str(form.get("reason", ""))
    try:
        async with transaction(request) as db:
            if action == "register":
                link = str(form.get("link_to", "")).strip()
                document = await reception.register(
                    db,
                    clock=res.clock,
                    services=_services(request),
                    clerk=clerk,
                    received_id=received_id,
                    link_to=int(link) if link.isdigit() else None,
                )
                target = request.url_for("document", document_id=document.id).path
            elif action == "refuse":
                await reception.refuse(
                    db, clock=res.clock, clerk=clerk, received_id=received_id, reason=reason
                )
                target = request.url_for("exchange_inbox").path
            elif action == "update":
                await updates.answer(
                    db,
                    clock=res.clock,
                    services=_services(request),
                    clerk=clerk,
                    received_id=received_id,
                    accept=form.get("decision") == "accept",
                    reason=reason,
                )
                target = request.url_for("exchange_received", received_id=received_id).path
            else:
                await reception.answer_recall(
                    db,
                    clock=res.clock,
                    clerk=clerk,
                    received_id=received_id,
                    accept=form.get("decision") == "accept",
                    reason=reason,
                )
                target = request.url_for("exchange_received", received_id=received_id).path
    except EofficeError as exc:
        return await received_view(
            request,
            error=exc.message(language(request)),
            status_code=exc.status_code,
            duplicate=exc if isinstance(exc, DuplicateFoundError) else None,
        )
    return htmx.redirect(RedirectResponse(target, status_code=303), target)


async def received_register(request: Request) -> Response:
    return await _act(request, "register")


async def received_refuse(request: Request) -> Response:
    return await _act(request, "refuse")


async def received_recall(request: Request) -> Response:
    return await _act(request, "recall")


async def received_update(request: Request) -> Response:
    return await _act(request, "update")


async def tracking_panel(request: Request) -> Response:
    """The per-recipient tracking of one sent document (a partial of the document page)."""
    document_id = request.path_params["document_id"]
    res = resources(request)
    async with transaction(request) as db:
        document = await db.get(Document, document_id)
        if document is None or document.agency_id != current_user(request).agency_id:
            raise NotFoundError("Không tìm thấy văn bản.", "No such document.")
        tracks = await tracking.of_document(db, document_id=document_id, now=res.clock.now())
        unsigned = await tracking.unsigned(db, document_id=document_id)
    context = {"document": document, "tracks": tracks, "unsigned": unsigned,
               "label": statuses.label}  # fmt: skip
    return render(request, "exchange/_tracking.html", context)


async def _delivery_ids(request: Request, field: str = "reason") -> tuple[list[int], str]:
    form = await request.form()
    ids = [int(str(v)) for v in form.getlist("delivery") if str(v).isdigit()]
    return ids, str(form.get(field, ""))


async def tracking_resend(request: Request) -> Response:
    return await _on_deliveries(request, "resend")


async def tracking_recall(request: Request) -> Response:
    return await _on_deliveries(request, "recall")


async def tracking_update(request: Request) -> Response:
    """The clerk's "Gửi cập nhật" to the chosen recipients; the panel comes back."""
    clerk = current_user(request)
    res = resources(request)
    ids, reason = await _delivery_ids(request, "update_reason")
    async with transaction(request) as db:
        await updates.send(
            db,
            clock=res.clock,
            blobs=res.blobs,
            max_packet_bytes=settings_of(request).axis_max_packet_mb * MiB,
            document_id=request.path_params["document_id"],
            delivery_ids=ids,
            reason=reason,
            clerk=clerk,
            seal=res.packet_seal,
        )
    return await tracking_panel(request)


async def _on_deliveries(request: Request, action: str) -> Response:
    """The clerk's "Gửi lại" or "Thu hồi" on the chosen deliveries; the panel comes back."""
    document_id = request.path_params["document_id"]
    clerk = current_user(request)
    clock = resources(request).clock
    ids, reason = await _delivery_ids(request)
    async with transaction(request) as db:
        await _own(db, document_id, clerk.agency_id)
        if action == "resend":
            await outbox.retry(
                db, clock=clock, document_id=document_id, delivery_ids=ids, actor_id=clerk.id
            )
        else:
            await outbox.recall(
                db,
                clock=clock,
                document_id=document_id,
                delivery_ids=ids,
                reason=reason,
                clerk_id=clerk.id,
                clerk_name=clerk.full_name,
                by_packet=settings_of(request).axis_recall_mechanism == "packet",
            )
    return await tracking_panel(request)


async def _own(db: AsyncSession, document_id: int, agency_id: int) -> None:
    document = await db.get(Document, document_id)
    if document is None or document.agency_id != agency_id:
        raise NotFoundError("Không tìm thấy văn bản.", "No such document.")


async def sent_page(request: Request) -> Response:
    user = current_user(request)
    try:
        kind = tracking.Filter(request.query_params.get("loc", ""))
    except ValueError:
        kind = tracking.Filter.ALL
    recipient = request.query_params.get("noi-nhan", "").strip()
    raw_page = request.query_params.get("trang", "1")
    page = int(raw_page) if raw_page.isdigit() else 1
    # The dashboard's period (a year), when its figures link here.
    raw_year = request.query_params.get("nam", "")
    year = int(raw_year) if raw_year.isdigit() and 2000 <= int(raw_year) <= 9999 else None
    async with transaction(request) as db:
        tracks = await tracking.sent(
            db,
            agency_id=user.agency_id,
            now=resources(request).clock.now(),
            kind=kind,
            recipient=recipient,
            start=date(year, 1, 1) if year else None,
            end=date(year, 12, 31) if year else None,
            page=page,
        )
    context = {
        "tracks": tracks,
        "kind": kind,
        "filters": tracking.Filter,
        "recipient": recipient,
        "year": year,
        "page": page,
        "label": statuses.label,
    }
    return render(request, "exchange/sent.html", context)
