"""Handling incoming documents on screens: the routing form, re-assignment, progress, completion,
returns. Each handler parses the form, checks the policy, calls one domain function, redirects."""

from __future__ import annotations

import logging
import secrets
from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backend.core import idempotency
from backend.core.errors import ValidationError
from backend.core.models import Role, Unit, User, UserRole
from backend.documents import catalogue, queries, reading
from backend.documents.tables import Document
from backend.identity import policy, sessions
from backend.identity.policy import Action
from backend.signing_flow import authority
from backend.web.views.auth import (
    client_ip,
    current_principal,
    current_user,
    settings_of,
    transaction,
)
from backend.web.views.render import attachment, render, resources
from backend.workflow import assignments, counters, deadlines, reports, timeline
from backend.workflow.assignments import Actor, Party, Plan

log = logging.getLogger("eoffice")


def _actor(request: Request) -> Actor:
    return Actor(
        user=current_user(request),
        device=sessions.describe_device(request.headers.get("user-agent", "")),
        ip=client_ip(request),
    )


def _end_of_day(request: Request) -> time:
    return time.fromisoformat(settings_of(request).deadline_time)


async def _plan(request: Request) -> Plan:
    async with request.form() as form:
        lead = str(form.get("lead", ""))
        if not lead:
            raise ValidationError("Hãy chọn chủ trì.", "Choose the lead.")
        return Plan(
            lead=Party.parse(lead),
            deadline=deadlines.parse(
                str(form.get("deadline", "")),
                str(form.get("deadline_time", "")),
                end_of_day=_end_of_day(request),
            ),
            direction=str(form.get("direction", "")).strip(),
            cooperate=[Party.parse(str(v)) for v in form.getlist("cooperate") if v],
            inform=[Party.parse(str(v)) for v in form.getlist("inform") if v],
        )


async def _field(request: Request, name: str) -> str:
    async with request.form() as form:
        return str(form.get(name, ""))


async def _done(request: Request, document_id: int) -> Response:
    """After the commit (its events wake the push senders and refresh live counters): go back."""
    target = request.url_for("document", document_id=document_id).path + "#xu-ly"
    return RedirectResponse(target, status_code=303)


async def work_count(request: Request) -> Response:
    async with transaction(request) as db:
        count = await counters.open_work(db, current_user(request))
    response = Response(str(count) if count else "", media_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


async def _document_in_scope(db: AsyncSession, request: Request, document_id: int) -> Document:
    document = await reading.get_document(db, document_id)
    ref = await queries.load_ref(db, document)
    if not policy.may(current_principal(request), Action.VIEW_DOCUMENT, ref):
        raise reading.not_found()
    return document


async def assign(request: Request) -> Response:
    plan = await _plan(request)
    res = resources(request)
    async with transaction(request) as db:
        document = await _document_in_scope(db, request, request.path_params["document_id"])
        ref = await queries.load_ref(db, document)
        if not policy.may(current_principal(request), Action.ASSIGN_DOCUMENT, ref):
            raise assignments.not_a_router()
        lead = await assignments.assign(
            db, clock=res.clock, actor=_actor(request), document=document, plan=plan
        )
    return await _done(request, lead.document_id)


async def forward(request: Request) -> Response:
    """Trình lãnh đạo: the office chief asks a leader for direction."""
    async with request.form() as form:
        leader, note = str(form.get("leader", "")), str(form.get("note", ""))
    if not leader.isdigit():
        raise ValidationError("Hãy chọn một lãnh đạo.", "Choose a leader.")
    res = resources(request)
    async with transaction(request) as db:
        document = await _document_in_scope(db, request, request.path_params["document_id"])
        await assignments.request_direction(
            db,
            clock=res.clock,
            actor=_actor(request),
            document=document,
            leader_id=int(leader),
            note=note,
        )
    return await _done(request, document.id)


async def awaiting_direction(request: Request) -> Response:
    """The leader's "Chờ cho ý kiến": what the office chief put before them."""
    async with transaction(request) as db:
        documents = await assignments.awaiting_direction(
            db,
            leader=current_user(request),
            on=authority.today(resources(request).clock),
        )
    return render(
        request,
        "workflow/awaiting.html",
        {
            "documents": documents,
            "urgencies": catalogue.URGENCY_LABELS,
            "statuses": catalogue.STATUS_LABELS,
        },
    )


async def reassign(request: Request) -> Response:
    plan = await _plan(request)
    res = resources(request)
    async with transaction(request) as db:
        parent, _ = await assignments.get_assignment(db, request.path_params["assignment_id"])
        await _document_in_scope(db, request, parent.document_id)
        await assignments.reassign(
            db, clock=res.clock, actor=_actor(request), parent=parent, plan=plan
        )
    return await _done(request, parent.document_id)


def _percent(raw: str) -> int | None:
    raw = raw.strip().rstrip("%")
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError("Tiến độ phải là số phần trăm.", "Progress must be a percentage.")
    return int(raw)


MiB = 1024 * 1024


async def _report(request: Request) -> reports.Report:
    # Refuse an oversized body before reading it (each file is checked again by the domain).
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > reports.MAX_FILES * reports.MAX_FILE_BYTES + MiB:
        raise reports.too_large()
    async with request.form(
        max_files=reports.MAX_FILES + 1, max_part_size=reports.MAX_FILE_BYTES + MiB
    ) as form:
        files = []
        for item in form.getlist("files"):
            if isinstance(item, UploadFile) and item.filename:
                data = await item.read()
                if data:
                    files.append(reports.Upload(item.filename, data))
        ticked = [str(v) for v in form.getlist("milestone")]
        return reports.Report(
            note=str(form.get("note", "")),
            percent=_percent(str(form.get("percent", ""))),
            # The form says it carried the checklist, so that unticking everything counts.
            milestones_done=frozenset(int(v) for v in ticked if v.isdigit())
            if form.get("milestones_shown")
            else None,
            files=files,
            client_key=idempotency.parse_key(
                str(form.get(idempotency.FORM_FIELD, "")), request.headers.get(idempotency.HEADER)
            )
            or "",
        )


async def progress(request: Request) -> Response:
    report = await _report(request)
    res = resources(request)
    assignment_id = request.path_params["assignment_id"]
    try:
        async with transaction(request) as db:
            hop, _ = await assignments.get_assignment(db, assignment_id)
            await _document_in_scope(db, request, hop.document_id)
            await reports.report_progress(
                db,
                clock=res.clock,
                blobs=res.blobs,
                actor=_actor(request),
                assignment=hop,
                report=report,
            )
            document_id = hop.document_id
    except IntegrityError:
        # Two replays of one offline report raced: the other one recorded it.
        async with transaction(request) as db:
            if not report.client_key or not await reports.replayed(
                db, actor_id=current_user(request).id, client_key=report.client_key.strip()[:64]
            ):
                raise
            hop, _ = await assignments.get_assignment(db, assignment_id)
            document_id = hop.document_id
    return await _done(request, document_id)


async def milestones(request: Request) -> Response:
    async with request.form() as form:
        titles = str(form.get("steps", "")).splitlines()
    res = resources(request)
    async with transaction(request) as db:
        hop, _ = await assignments.get_assignment(db, request.path_params["assignment_id"])
        await _document_in_scope(db, request, hop.document_id)
        await reports.set_milestones(
            db, clock=res.clock, actor=_actor(request), assignment=hop, titles=titles
        )
    return await _done(request, hop.document_id)


async def progress_file(request: Request) -> Response:
    """A file reported with progress: for whoever may view the document."""
    async with transaction(request) as db:
        found = await reports.get_file(db, request.path_params["file_id"])
        if found is None:
            raise reading.not_found()
        await _document_in_scope(db, request, found.document_id)
    data = await resources(request).blobs.get(found.sha256)
    return attachment(data, filename=found.filename, media_type=found.media_type)


async def complete(request: Request) -> Response:
    result = await _field(request, "result")
    res = resources(request)
    async with transaction(request) as db:
        hop, _ = await assignments.get_assignment(db, request.path_params["assignment_id"])
        await _document_in_scope(db, request, hop.document_id)
        await assignments.complete(
            db, clock=res.clock, actor=_actor(request), assignment=hop, result=result
        )
    return await _done(request, hop.document_id)


async def return_(request: Request) -> Response:
    reason = await _field(request, "reason")
    res = resources(request)
    async with transaction(request) as db:
        hop, _ = await assignments.get_assignment(db, request.path_params["assignment_id"])
        await _document_in_scope(db, request, hop.document_id)
        await assignments.return_assignment(
            db, clock=res.clock, actor=_actor(request), assignment=hop, reason=reason
        )
    return await _done(request, hop.document_id)


async def handling_context(
    db: AsyncSession, request: Request, document: Document
) -> dict[str, Any]:
    """What the document page shows about handling, and which forms this viewer gets."""
    viewer = current_user(request)
    principal = current_principal(request)
    found = await timeline.handling(db, document=document, viewer=viewer)
    ref = await queries.load_ref(db, document)
    # Routing is for a registered (or returned) incoming document, forwarding until a leader
    # has it: workflow state; who may do either is the policy's.
    routable = document.direction == "incoming" and document.status in assignments.ASSIGNABLE
    may_assign = routable and policy.may(principal, Action.ASSIGN_DOCUMENT, ref)
    context: dict[str, Any] = {
        "handling": found,
        "document_ref": ref,
        "may_assign": may_assign,
        "may_forward": routable
        and found.waiting is None
        and policy.may(principal, Action.FORWARD_DOCUMENT, ref),
        # A fresh idempotency key per rendered form: a double tap, or an offline queue
        # replaying the post, records the report once.
        "client_key": secrets.token_urlsafe(16),
        "end_of_day": _end_of_day(request).strftime("%H:%M"),
    }
    if may_assign:
        units = await db.scalars(
            select(Unit)
            .where(Unit.agency_id == document.agency_id, Unit.merged_into_id.is_(None))
            .order_by(Unit.name)
        )
        people = await db.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                User.agency_id == document.agency_id,
                User.is_active.is_(True),
                UserRole.role.in_([Role.UNIT_HEAD.value, Role.SPECIALIST.value, Role.LEADER.value]),
            )
            .distinct()
            .order_by(User.full_name)
        )
        context["parties"] = [(f"d:{u.id}", u.name) for u in units] + [
            (f"u:{p.id}", p.full_name) for p in people if p.id != viewer.id
        ]
    if context["may_forward"]:
        leaders = await db.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                User.agency_id == document.agency_id,
                User.is_active.is_(True),
                UserRole.role == Role.LEADER.value,
                User.id != viewer.id,
            )
            .order_by(User.full_name)
        )
        context["leaders"] = [
            (p.id, f"{p.full_name} — {p.title}" if p.title else p.full_name) for p in leaders
        ]
    if any(policy.may(principal, Action.ASSIGN_DOCUMENT, h.ref) for h in found.mine):
        members = await db.scalars(
            select(User)
            .where(User.unit_id == viewer.unit_id, User.is_active.is_(True), User.id != viewer.id)
            .order_by(User.full_name)
        )
        context["members"] = [(f"u:{m.id}", m.full_name) for m in members]
    return context
