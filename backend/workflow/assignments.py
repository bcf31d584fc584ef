"""Assign, re-assign, report progress, complete and return (Decree 30: route → resolve); an
issued document sent to units of the agency "để biết" (`inform_units`).

Rules: a document has exactly one open chủ trì at the top; each hop's deadline is never later
than its parent's; a unit head re-assigns only what was given to their unit, only to people of
that unit; a return always carries a reason. Every step writes a timeline event, an audit entry
and the notices (outbox rows) in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.clock import Clock
from backend.core.errors import ForbiddenError, NotFoundError, ValidationError
from backend.core.models import Role, Unit, User, UserRole
from backend.documents import queries
from backend.documents.catalogue import Direction, Status
from backend.documents.tables import Document
from backend.identity import policy
from backend.identity.policy import Action, HopRef, principal_of
from backend.push import outbox, payloads
from backend.signing_flow import authority
from backend.workflow import deadlines
from backend.workflow.events import HandlingStepRecorded
from backend.workflow.tables import (
    OPEN_STATES,
    Assignment,
    DirectionRequest,
    Part,
    State,
    TimelineEvent,
)

ASSIGNABLE = (Status.REGISTERED, Status.RETURNED)


@dataclass(frozen=True)
class Party:
    """A unit ("d:<id>", its head re-assigns) or a person ("u:<id>")."""

    unit_id: int | None = None
    user_id: int | None = None

    @classmethod
    def parse(cls, raw: str) -> Party:
        kind, _, ident = raw.partition(":")
        if kind in {"u", "d"} and ident.isdigit():
            return cls(user_id=int(ident)) if kind == "u" else cls(unit_id=int(ident))
        raise ValidationError("Người hoặc đơn vị không hợp lệ.", "Unknown person or unit.")


@dataclass(frozen=True)
class Plan:
    lead: Party
    # A moment; a bare date means the end of that working day (deadlines.END_OF_DAY).
    deadline: date | datetime | None
    direction: str = ""
    cooperate: Sequence[Party] = field(default_factory=tuple)
    inform: Sequence[Party] = field(default_factory=tuple)


@dataclass(frozen=True)
class Actor:
    user: User
    device: str = ""
    ip: str = ""


async def _check_party(db: AsyncSession, party: Party, agency_id: int) -> None:
    if party.user_id is not None:
        person = await db.get(User, party.user_id)
        if person is None or person.agency_id != agency_id or not person.is_active:
            raise ValidationError("Không tìm thấy người được giao.", "No such person.")
    elif party.unit_id is not None:
        unit = await db.get(Unit, party.unit_id)
        if unit is None or unit.agency_id != agency_id or not unit.active:
            raise ValidationError("Không tìm thấy đơn vị được giao.", "No such unit.")


async def recipients(db: AsyncSession, assignment: Assignment) -> list[int]:
    """Who is told about an assignment: the person, or the heads of the unit."""
    if assignment.user_id is not None:
        return [assignment.user_id]
    rows = await db.scalars(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.unit_id == assignment.unit_id,
            UserRole.role == Role.UNIT_HEAD.value,
            User.is_active.is_(True),
        )
    )
    return list(rows)


async def event(
    db: AsyncSession,
    clock: Clock,
    actor: Actor,
    document: Document,
    kind: str,
    assignment: Assignment | None = None,
    note: str = "",
    detail: dict[str, object] | None = None,
    client_key: str | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        document_id=document.id,
        assignment_id=assignment.id if assignment else None,
        actor_id=actor.user.id,
        kind=kind,
        note=note,
        detail=detail or {},
        device=actor.device[:64],
        at=clock.now(),
        client_key=client_key or None,
    )
    db.add(event)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action=f"workflow.{kind}",
        actor_id=actor.user.id,
        object_type="document",
        object_id=document.id,
        detail=detail or {},
        ip=actor.ip,
    )
    events.record(db, HandlingStepRecorded(document.id))
    return event


async def _notify(
    db: AsyncSession, clock: Clock, document: Document, assignment: Assignment
) -> None:
    notice = payloads.assignment(
        document_id=document.id,
        subject=document.subject,
        urgency=document.urgency,
        part=assignment.part,
        deadline=assignment.deadline,
    )
    for user_id in await recipients(db, assignment):
        await outbox.enqueue(db, clock=clock, user_id=user_id, notice=notice)


def _check_deadline(deadline: datetime | None, *, now: datetime, parent: datetime | None) -> None:
    if deadline is not None and deadline <= now:
        raise ValidationError("Hạn xử lý đã qua.", "The deadline is in the past.")
    if parent is not None and (deadline is None or deadline > parent):
        when = deadlines.label(parent)
        raise ValidationError(
            f"Hạn xử lý không được muộn hơn hạn của cấp trên ({when}).",
            f"The deadline may not be later than the parent's ({when}).",
        )


async def _add(
    db: AsyncSession,
    clock: Clock,
    *,
    document: Document,
    by: User,
    part: Part,
    party: Party,
    deadline: datetime | None,
    direction: str,
    parent: Assignment | None = None,
) -> Assignment:
    row = Assignment(
        document_id=document.id,
        parent_id=parent.id if parent else None,
        part=part.value,
        unit_id=party.unit_id,
        user_id=party.user_id,
        assigned_by_id=by.id,
        deadline=deadline,
        direction=direction,
        state=State.ACTIVE.value,
        progress=0,
        result="",
        created_at=clock.now(),
    )
    db.add(row)
    await db.flush()
    await _notify(db, clock, document, row)
    return row


async def assign(
    db: AsyncSession, *, clock: Clock, actor: Actor, document: Document, plan: Plan
) -> Assignment:
    """A leader or the office chief routes a registered incoming document. Returns the chủ trì
    hop."""
    if document.agency_id != actor.user.agency_id:
        raise NotFoundError("Không tìm thấy văn bản.", "No such document.")
    if not policy.may(
        principal_of(actor.user), Action.ASSIGN_DOCUMENT, await queries.load_ref(db, document)
    ):
        raise not_a_router()
    if document.direction != Direction.INCOMING or document.status not in ASSIGNABLE:
        raise ValidationError(
            "Văn bản này không ở trạng thái chờ phân công.",
            "This document is not awaiting routing.",
        )
    open_lead = await db.scalar(
        select(Assignment.id).where(
            Assignment.document_id == document.id,
            Assignment.parent_id.is_(None),
            Assignment.part == Part.LEAD.value,
            Assignment.state.in_(OPEN_STATES),
        )
    )
    if open_lead is not None:
        raise ValidationError("Văn bản đã có đơn vị chủ trì.", "The document already has a lead.")
    everyone = [plan.lead, *plan.cooperate, *plan.inform]
    if len(set(everyone)) != len(everyone):
        raise ValidationError(
            "Mỗi người hoặc đơn vị chỉ nhận một vai trò.", "Each party may take one part only."
        )
    for party in everyone:
        await _check_party(db, party, document.agency_id)
    deadline = deadlines.normalize(plan.deadline)
    _check_deadline(deadline, now=clock.now(), parent=None)
    lead = await _add(
        db,
        clock,
        document=document,
        by=actor.user,
        part=Part.LEAD,
        party=plan.lead,
        deadline=deadline,
        direction=plan.direction,
    )
    for part, parties in ((Part.COOPERATE, plan.cooperate), (Part.INFORM, plan.inform)):
        for party in parties:
            await _add(
                db,
                clock,
                document=document,
                by=actor.user,
                part=part,
                party=party,
                deadline=deadline if part is Part.COOPERATE else None,
                direction=plan.direction,
            )
    # The leader has given the direction: requests for it are answered.
    for request in await db.scalars(
        select(DirectionRequest).where(
            DirectionRequest.document_id == document.id, DirectionRequest.closed_at.is_(None)
        )
    ):
        request.closed_at = clock.now()
    document.status = Status.ASSIGNED.value
    # The document keeps the day (its own column is a date, shown in lists and registers).
    document.deadline = deadlines.local_day(deadline) if deadline else None
    if plan.lead.unit_id is not None:
        document.unit_id = plan.lead.unit_id
    else:
        lead_user = await db.get_one(User, plan.lead.user_id)
        document.unit_id = lead_user.unit_id
    await event(
        db, clock, actor, document, "assigned", lead, note=plan.direction, detail=_describe(plan)
    )
    return lead


async def inform_units(
    db: AsyncSession,
    *,
    clock: Clock,
    actor: Actor,
    document: Document,
    unit_ids: Sequence[int],
) -> list[Assignment]:
    """The clerk's Phát hành to units of the agency itself: each receives the issued document
    "để biết" (an inform hop, its heads told by push). Routing (`assign`) is for incoming
    documents and needs a chủ trì; an issued document has nobody to handle it, only people to
    know it, so it gets inform hops alone and keeps its status."""
    if document.agency_id != actor.user.agency_id:
        raise NotFoundError("Không tìm thấy văn bản.", "No such document.")
    if not policy.may(
        principal_of(actor.user), Action.ISSUE_DOCUMENT, await queries.load_ref(db, document)
    ):
        raise ForbiddenError(
            "Chỉ văn thư gửi văn bản phát hành đến các đơn vị.",
            "Only the clerk sends issued documents to the units.",
        )
    if document.direction != Direction.OUTGOING or document.status != Status.ISSUED:
        raise ValidationError(
            "Chỉ gửi để biết văn bản đi đã phát hành.",
            "Only issued outgoing documents are sent to units for information.",
        )
    parties = [Party(unit_id=unit_id) for unit_id in dict.fromkeys(unit_ids)]
    for party in parties:
        await _check_party(db, party, document.agency_id)
    hops = [
        await _add(
            db,
            clock,
            document=document,
            by=actor.user,
            part=Part.INFORM,
            party=party,
            deadline=None,
            direction="",
        )
        for party in parties
    ]
    if hops:
        detail: dict[str, object] = {"inform": [f"d:{p.unit_id}" for p in parties]}
        await event(db, clock, actor, document, "informed", detail=detail)
    return hops


def not_a_router() -> ForbiddenError:
    return ForbiddenError(
        "Chỉ lãnh đạo hoặc Chánh Văn phòng phân công văn bản đến.",
        "Only a leader or the office chief routes incoming documents.",
    )


def _describe(plan: Plan) -> dict[str, object]:
    def key(p: Party) -> str:
        return f"u:{p.user_id}" if p.user_id is not None else f"d:{p.unit_id}"

    return {
        "lead": key(plan.lead), "cooperate": [key(p) for p in plan.cooperate],
        "inform": [key(p) for p in plan.inform],
        "deadline": deadline.isoformat() if (deadline := deadlines.normalize(plan.deadline))
        else None,
    }  # fmt: skip


async def get_assignment(db: AsyncSession, assignment_id: int) -> tuple[Assignment, Document]:
    row = await db.get(Assignment, assignment_id)
    if row is None:
        raise NotFoundError("Không tìm thấy phân công.", "No such assignment.")
    return row, await db.get_one(Document, row.document_id)


def hop_ref(assignment: Assignment, document: Document) -> HopRef:
    return HopRef(
        agency_id=document.agency_id, user_id=assignment.user_id, unit_id=assignment.unit_id
    )


def holds(actor: User, assignment: Assignment, document: Document) -> bool:
    """Is this hop the actor's to work on: given to them, or (for a unit head) to their unit?"""
    ref = hop_ref(assignment, document)
    return policy.may(principal_of(actor), Action.HANDLE_DOCUMENT, ref)


def refuse() -> ForbiddenError:
    return ForbiddenError(
        "Việc này không được giao cho bạn.", "This assignment was not given to you."
    )


async def reassign(
    db: AsyncSession, *, clock: Clock, actor: Actor, parent: Assignment, plan: Plan
) -> Assignment:
    """A unit head hands their unit's hop down to a specialist of the unit."""
    document = await db.get_one(Document, parent.document_id)
    user = actor.user
    if not policy.may(principal_of(user), Action.ASSIGN_DOCUMENT, hop_ref(parent, document)):
        raise refuse()
    if parent.state != State.ACTIVE or parent.part == Part.INFORM:
        raise ValidationError("Không thể giao tiếp việc này.", "This hop cannot be handed down.")
    for party in [plan.lead, *plan.cooperate]:
        person = await db.get(User, party.user_id) if party.user_id is not None else None
        if person is None or person.unit_id != user.unit_id or not person.is_active:
            raise ValidationError(
                "Chỉ giao cho người trong đơn vị của bạn.", "Hand down only within your unit."
            )
    deadline = deadlines.normalize(plan.deadline)
    _check_deadline(deadline, now=clock.now(), parent=parent.deadline)
    part = Part(parent.part)
    child = await _add(
        db,
        clock,
        document=document,
        by=user,
        part=part,
        party=plan.lead,
        deadline=deadline,
        direction=plan.direction,
        parent=parent,
    )
    for party in plan.cooperate:
        await _add(
            db,
            clock,
            document=document,
            by=user,
            part=Part.COOPERATE,
            party=party,
            deadline=deadline,
            direction=plan.direction,
            parent=parent,
        )
    parent.state = State.DELEGATED.value
    await event(
        db,
        clock,
        actor,
        document,
        "reassigned",
        child,
        note=plan.direction,
        detail=_describe(plan) | {"parent": parent.id},
    )
    return child


async def complete(
    db: AsyncSession, *, clock: Clock, actor: Actor, assignment: Assignment, result: str
) -> None:
    """The chủ trì finishes with a result: every hop above closes, the document is done."""
    document = await db.get_one(Document, assignment.document_id)
    if not holds(actor.user, assignment, document) or assignment.part != Part.LEAD:
        raise refuse()
    if assignment.state not in (State.ACTIVE, State.IN_PROGRESS):
        raise ValidationError("Việc này đã đóng.", "This assignment is closed.")
    if not result.strip():
        raise ValidationError("Hãy ghi kết quả xử lý.", "Write the result.")
    now = clock.now()
    hop: Assignment | None = assignment
    while hop is not None:
        hop.state, hop.closed_at, hop.progress = State.COMPLETED.value, now, 100
        hop.result = result.strip()
        hop = await db.get(Assignment, hop.parent_id) if hop.parent_id else None
    document.status = Status.COMPLETED.value
    await event(db, clock, actor, document, "completed", assignment, note=result.strip())
    await outbox.enqueue(
        db,
        clock=clock,
        user_id=assignment.assigned_by_id,
        notice=payloads.completed(document_id=document.id, subject=document.subject),
    )


async def return_assignment(
    db: AsyncSession, *, clock: Clock, actor: Actor, assignment: Assignment, reason: str
) -> None:
    """Trả lại, with a reason: the hop above takes the work back; at the top the document goes
    back to the leader (status 02) to be routed again."""
    document = await db.get_one(Document, assignment.document_id)
    if not holds(actor.user, assignment, document) or assignment.state not in (
        State.ACTIVE,
        State.IN_PROGRESS,
    ):
        raise refuse()
    if len(reason.strip()) < 3:
        raise ValidationError("Hãy ghi lý do trả lại.", "Give the reason for returning.")
    assignment.state, assignment.closed_at = State.RETURNED.value, clock.now()
    assignment.result = reason.strip()
    if assignment.part == Part.LEAD:
        if assignment.parent_id is not None:
            parent = await db.get_one(Assignment, assignment.parent_id)
            parent.state = State.ACTIVE.value
        else:
            document.status = Status.RETURNED.value
            # Helpers of a returned lead stand down with it.
            siblings = await db.scalars(
                select(Assignment).where(
                    Assignment.document_id == document.id, Assignment.state.in_(OPEN_STATES)
                )
            )
            for other in siblings:
                other.state, other.closed_at = State.RETURNED.value, clock.now()
    await event(db, clock, actor, document, "returned", assignment, note=reason.strip())
    await outbox.enqueue(
        db,
        clock=clock,
        user_id=assignment.assigned_by_id,
        notice=payloads.returned(
            document_id=document.id, subject=document.subject, reason=reason.strip()
        ),
    )


async def request_direction(
    db: AsyncSession,
    *,
    clock: Clock,
    actor: Actor,
    document: Document,
    leader_id: int,
    note: str,
) -> DirectionRequest:
    """Trình lãnh đạo: the office chief puts a registered incoming document before a leader, who
    finds it under "Chờ cho ý kiến" and assigns it."""
    if document.agency_id != actor.user.agency_id:
        raise NotFoundError("Không tìm thấy văn bản.", "No such document.")
    if not policy.may(
        principal_of(actor.user), Action.FORWARD_DOCUMENT, await queries.load_ref(db, document)
    ):
        raise ForbiddenError(
            "Chỉ Chánh Văn phòng trình văn bản xin ý kiến lãnh đạo.",
            "Only the office chief puts documents before a leader.",
        )
    if document.direction != Direction.INCOMING or document.status not in ASSIGNABLE:
        raise ValidationError(
            "Văn bản này không ở trạng thái chờ phân công.",
            "This document is not awaiting routing.",
        )
    leader = await db.get(User, leader_id)
    if (
        leader is None
        or leader.agency_id != document.agency_id
        or not leader.is_active
        or Role.LEADER not in leader.roles
    ):
        raise ValidationError("Hãy chọn một lãnh đạo.", "Choose a leader.")
    waiting = await db.scalar(
        select(DirectionRequest.id).where(
            DirectionRequest.document_id == document.id, DirectionRequest.closed_at.is_(None)
        )
    )
    if waiting is not None:
        raise ValidationError(
            "Văn bản đã được trình lãnh đạo, đang chờ ý kiến.",
            "The document is already waiting for a leader's direction.",
        )
    row = DirectionRequest(
        document_id=document.id,
        leader_id=leader.id,
        requested_by_id=actor.user.id,
        note=note.strip(),
        created_at=clock.now(),
    )
    db.add(row)
    await event(
        db,
        clock,
        actor,
        document,
        "forwarded",
        note=note.strip(),
        detail={"leader": f"u:{leader.id}"},
    )
    notice = payloads.direction_requested(
        document_id=document.id,
        subject=document.subject,
        urgency=document.urgency,
        by=actor.user.full_name,
    )
    await outbox.enqueue(db, clock=clock, user_id=leader.id, notice=notice)
    # A leader away today: the deputy named for the period finds it in their list and hears it.
    away = await authority.absence_on(db, leader.id, authority.today(clock))
    if away is not None:
        await outbox.enqueue(db, clock=clock, user_id=away.deputy_id, notice=notice)
    return row


async def awaiting_direction(
    db: AsyncSession, *, leader: User, on: date | None = None
) -> list[Document]:
    """The leader's "Chờ cho ý kiến": documents put before them (for the office chief: that they put
    before a leader) and not yet assigned, most urgent and oldest first; on a day (`on`) when
    they are the named deputy of a leader away, that leader's too."""
    covering = [a.user_id for a in await authority.covered_by(db, leader.id, on)] if on else []
    return list(
        await db.scalars(
            select(Document)
            .join(DirectionRequest, DirectionRequest.document_id == Document.id)
            .where(
                or_(
                    DirectionRequest.leader_id.in_([leader.id, *covering]),
                    DirectionRequest.requested_by_id == leader.id,
                ),
                DirectionRequest.closed_at.is_(None),
                Document.agency_id == leader.agency_id,
            )
            .order_by(Document.urgency.desc(), DirectionRequest.id)
        )
    )


async def cancel_for_recall(
    db: AsyncSession, *, clock: Clock, actor: Actor, document: Document, sender: str, note: str
) -> list[int]:
    """The sender took a received document back and the clerk agreed: the document is marked
    recalled (kept, never deleted), every open hop closes, and the people who held one are told.
    Returns who was told."""
    now = clock.now()
    open_hops = list(
        await db.scalars(
            select(Assignment).where(
                Assignment.document_id == document.id, Assignment.state.in_(OPEN_STATES)
            )
        )
    )
    told: set[int] = set()
    for hop in open_hops:
        hop.state, hop.closed_at = State.CANCELLED.value, now
        told.update(await recipients(db, hop))
    document.status = Status.RECALLED.value
    await event(db, clock, actor, document, "recalled", note=note, detail={"sender": sender})
    notice = payloads.recalled(document_id=document.id, subject=document.subject, sender=sender)
    for user_id in sorted(told):
        await outbox.enqueue(db, clock=clock, user_id=user_id, notice=notice)
    return sorted(told)


async def notify_revised(
    db: AsyncSession, *, clock: Clock, actor: Actor, document: Document, sender: str, note: str
) -> list[int]:
    """The sender updated a received document and the clerk accepted the new version: a step
    in its timeline, and the people holding an open hop are told. Returns who was told."""
    open_hops = await db.scalars(
        select(Assignment).where(
            Assignment.document_id == document.id, Assignment.state.in_(OPEN_STATES)
        )
    )
    told: set[int] = set()
    for hop in open_hops:
        told.update(await recipients(db, hop))
    await event(db, clock, actor, document, "revised", note=note, detail={"sender": sender})
    notice = payloads.revised(document_id=document.id, subject=document.subject, sender=sender)
    for user_id in sorted(told):
        await outbox.enqueue(db, clock=clock, user_id=user_id, notice=notice)
    return sorted(told)
