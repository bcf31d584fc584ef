"""Handling incoming documents on screens: the routing form, re-assignment, progress, completion,
returns. Each handler parses the form, checks the policy, calls one domain function, redirects."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backend import idempotency
from backend.documents import queries, reading
from backend.documents.tables import Document
from backend.errors import ForbiddenError, ValidationError
from backend.identity import policy, sessions
from backend.identity.policy import Action
from backend.models import Role, Unit, User, UserRole
from backend.views.auth import client_ip, current_principal, current_user, transaction
from backend.views.render import resources
from backend.workflow import assignments, counters, timeline
from backend.workflow.assignments import Actor, Party, Plan

log = logging.getLogger("eoffice")


def _actor(request: Request) -> Actor:
    return Actor(
        user=current_user(request),
        device=sessions.describe_device(request.headers.get("user-agent", "")),
        ip=client_ip(request),
    )


def _deadline(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        raise ValidationError("Hạn xử lý không hợp lệ.", "Invalid deadline.") from None


async def _plan(request: Request) -> Plan:
    async with request.form() as form:
        lead = str(form.get("lead", ""))
        if not lead:
            raise ValidationError("Hãy chọn chủ trì.", "Choose the lead.")
        return Plan(
            lead=Party.parse(lead),
            deadline=_deadline(str(form.get("deadline", ""))),
            direction=str(form.get("direction", "")).strip(),
            cooperate=[Party.parse(str(v)) for v in form.getlist("cooperate") if v],
            inform=[Party.parse(str(v)) for v in form.getlist("inform") if v],
        )


async def _field(request: Request, name: str) -> str:
    async with request.form() as form:
        return str(form.get(name, ""))


async def _done(request: Request, document_id: int) -> Response:
    """After the commit: relay the notices now, refresh everyone's live counters, go back."""
    res = resources(request)
    await res.push.after_commit()
    try:
        async with transaction(request) as db:
            people = await counters.concerned(db, document_id)
            await counters.announce(db, res.redis, user_ids=people, document_id=document_id)
    except RedisError:
        # Counters are hints: screens catch up on their next load.
        log.warning("live counters not announced for document %s", document_id, exc_info=True)
    return RedirectResponse(f"/documents/{document_id}#xu-ly", status_code=303)


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
        if Role.LEADER not in current_principal(request).roles:
            raise policy_refusal()
        lead = await assignments.assign(
            db, clock=res.clock, actor=_actor(request), document=document, plan=plan
        )
    return await _done(request, lead.document_id)


def policy_refusal() -> ForbiddenError:
    return ForbiddenError(
        "Chỉ lãnh đạo phân công văn bản đến.", "Only a leader routes incoming documents."
    )


async def reassign(request: Request) -> Response:
    plan = await _plan(request)
    res = resources(request)
    async with transaction(request) as db:
        parent, _ = await assignments.get_assignment(db, request.path_params["assignment_id"])
        await _document_in_scope(db, request, parent.document_id)
        await assignments.reassign(db, clock=res.clock, actor=_actor(request), parent=parent,
                                   plan=plan)  # fmt: skip
    return await _done(request, parent.document_id)


def _percent(raw: str) -> int | None:
    raw = raw.strip().rstrip("%")
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError("Tiến độ phải là số phần trăm.", "Progress must be a percentage.")
    return int(raw)


async def progress(request: Request) -> Response:
    async with request.form() as form:
        note, percent = str(form.get("note", "")), _percent(str(form.get("percent", "")))
        key = idempotency.parse_key(
            str(form.get(idempotency.FORM_FIELD, "")), request.headers.get(idempotency.HEADER)
        )
    res = resources(request)
    user_id = current_user(request).id
    try:
        async with transaction(request) as db:
            hop, _ = await assignments.get_assignment(db, request.path_params["assignment_id"])
            await _document_in_scope(db, request, hop.document_id)
            if key is not None:
                # A device replaying its offline queue: the same key is done once.
                await idempotency.claim(db, clock=res.clock, user_id=user_id, key=key,
                                        scope=request.url.path,
                                        outcome=f"/documents/{hop.document_id}#xu-ly")  # fmt: skip
            await assignments.report_progress(
                db, clock=res.clock, actor=_actor(request), assignment=hop, note=note,
                percent=percent,
            )  # fmt: skip
    except IntegrityError:
        if key is None:
            raise
        async with transaction(request) as db:
            outcome = await idempotency.first_outcome(
                db, user_id=user_id, key=key, scope=request.url.path
            )
        if outcome is None:
            raise
        return RedirectResponse(outcome, status_code=303)
    return await _done(request, hop.document_id)


async def complete(request: Request) -> Response:
    result = await _field(request, "result")
    res = resources(request)
    async with transaction(request) as db:
        hop, _ = await assignments.get_assignment(db, request.path_params["assignment_id"])
        await _document_in_scope(db, request, hop.document_id)
        await assignments.complete(db, clock=res.clock, actor=_actor(request), assignment=hop,
                                   result=result)  # fmt: skip
    return await _done(request, hop.document_id)


async def return_(request: Request) -> Response:
    reason = await _field(request, "reason")
    res = resources(request)
    async with transaction(request) as db:
        hop, _ = await assignments.get_assignment(db, request.path_params["assignment_id"])
        await _document_in_scope(db, request, hop.document_id)
        await assignments.return_assignment(db, clock=res.clock, actor=_actor(request),
                                            assignment=hop, reason=reason)  # fmt: skip
    return await _done(request, hop.document_id)


async def handling_context(
    db: AsyncSession, request: Request, document: Document
) -> dict[str, Any]:
    """What the document page shows about handling, and which forms this viewer gets."""
    viewer = current_user(request)
    principal = current_principal(request)
    found = await timeline.handling(db, document_id=document.id, viewer=viewer)
    may_assign = (
        Role.LEADER in principal.roles
        and document.direction == "incoming"
        and document.status in assignments.ASSIGNABLE
    )
    context: dict[str, Any] = {"handling": found, "may_assign": may_assign}
    if may_assign:
        units = await db.scalars(
            select(Unit).where(Unit.agency_id == document.agency_id, Unit.merged_into_id.is_(None))
            .order_by(Unit.name)
        )  # fmt: skip
        people = await db.scalars(
            select(User).join(UserRole, UserRole.user_id == User.id)
            .where(User.agency_id == document.agency_id, User.is_active.is_(True),
                   UserRole.role.in_([Role.UNIT_HEAD.value, Role.SPECIALIST.value,
                                      Role.LEADER.value]))
            .distinct().order_by(User.full_name)
        )  # fmt: skip
        context["parties"] = [(f"d:{u.id}", u.name) for u in units] + [
            (f"u:{p.id}", p.full_name) for p in people if p.id != viewer.id
        ]
    if Role.UNIT_HEAD in principal.roles and any(h.row.unit_id for h in found.mine):
        members = await db.scalars(
            select(User).where(User.unit_id == viewer.unit_id, User.is_active.is_(True),
                               User.id != viewer.id).order_by(User.full_name)
        )  # fmt: skip
        context["members"] = [(f"u:{m.id}", m.full_name) for m in members]
    return context
