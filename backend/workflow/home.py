"""Today's work, per role: what the home page shows a person the moment they open the app.

A section per part the person plays (a person with several roles sees each):
- signer (a leader, or anyone holding a signing grant): "Chờ ký" — Hỏa tốc first, the first
  three one tap away (an absent leader's drafts come to their deputy);
- router (leaders, the office chief): "Chờ cho ý kiến" (documents put before them) and, for
  the office chief, registered documents still to route;
- leaders: the overdue chủ trì work of the agency's units, and documents sent down over the axis
  whose recipients are late;
- unit head: their unit's hops still to hand down, and its overdue work;
- handler: "Việc của tôi" by deadline — overdue, today, this week — and returned drafts;
- clerk: received over the axis to register, signed documents to issue.
Counts are exact; item lists are short (`PREVIEW`), the full lists are one tap away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.clock import VIETNAM
from backend.core.models import Role, Unit, User
from backend.core.urls import Page
from backend.documents import catalogue
from backend.documents.queries import start_of
from backend.documents.tables import Document
from backend.identity import policy
from backend.identity.policy import WHOLE_AGENCY, Action, Principal
from backend.interchange import reception, tracking
from backend.signing_flow import drafts, issue
from backend.workflow import assignments
from backend.workflow.tables import Assignment, Part, State

PREVIEW = 3
WORKING = (State.ACTIVE.value, State.IN_PROGRESS.value)


@dataclass(frozen=True)
class Item:
    """One line of a section: a document (or a received packet) one tap away."""

    page: Page
    subject: str
    urgency: int = 0
    number: str = ""
    due: date | datetime | None = None
    note: str = ""
    # A draft in the deputy's queue: whose it is (the signer away).
    away_of: str = ""


@dataclass(frozen=True)
class Section:
    key: str  # stable id: tests, the live refresh, CSS
    title_vi: str
    title_en: str
    count: int
    link: Page  # the full list
    items: list[Item] = field(default_factory=list)
    # Groups shown as figures under the title ("Quá hạn 2 · Hôm nay 1 · Tuần này 4").
    figures: list[tuple[str, str, int]] = field(default_factory=list)  # vi, en, n
    alarm: bool = False  # something is overdue: shown in red


@dataclass(frozen=True)
class Home:
    sections: list[Section]

    @property
    def empty(self) -> bool:
        return all(s.count == 0 for s in self.sections)


def _doc_item(
    document: Document, *, page: str = "document", note: str = "", away_of: str = ""
) -> Item:
    return Item(
        page=Page(page, {"document_id": document.id}),
        subject=document.subject,
        urgency=document.urgency,
        number=document.number_symbol,
        due=document.deadline,
        note=note,
        away_of=away_of,
    )


async def today(db: AsyncSession, *, user: User, principal: Principal, now: datetime) -> Home:
    """The person's home sections at `now`."""
    on = now.astimezone(VIETNAM).date()
    sections: list[Section] = []
    if policy.may(principal, Action.SIGN_DOCUMENT):
        sections.append(await _to_sign(db, user, on))
    if policy.may(principal, Action.ASSIGN_DOCUMENT, WHOLE_AGENCY):
        sections.append(await _direction(db, user, on))
        if Role.OFFICE_CHIEF in principal.roles:
            sections.append(await _to_route(db, user))
    if Role.LEADER in principal.roles:
        sections.append(await _overdue_units(db, user, now))
        sent = await _sent_down_late(db, user, now)
        if sent is not None:
            sections.append(sent)
    if Role.UNIT_HEAD in principal.roles and user.unit_id is not None:
        sections.append(await _unit(db, user, now))
    if policy.may(principal, Action.HANDLE_DOCUMENT):
        sections.append(await _my_work(db, user, now))
    if policy.may(principal, Action.DRAFT_DOCUMENT):
        returned = await _returned_drafts(db, user)
        if returned.count:
            sections.append(returned)
    if policy.may(principal, Action.ISSUE_DOCUMENT):
        sections.append(await _to_issue(db, user))
    if policy.may(principal, Action.REGISTER_DOCUMENT):
        sections.append(await _from_axis(db, user))
    return Home(sections=sections)


async def to_sign_count(db: AsyncSession, *, user_id: int, on: date) -> int:
    return len(await drafts.to_sign(db, signer_id=user_id, on=on))


async def _to_sign(db: AsyncSession, user: User, on: date) -> Section:
    rows = await drafts.to_sign(db, signer_id=user.id, on=on)
    items = [
        _doc_item(
            r.document,
            page="sign_document",
            away_of=r.absent_signer.full_name if r.absent_signer else "",
        )
        for r in rows[:PREVIEW]
    ]
    return Section("to-sign", "Chờ ký", "To sign", len(rows), Page("sign_queue"), items=items)


async def _direction(db: AsyncSession, user: User, on: date) -> Section:
    found = await assignments.awaiting_direction(db, leader=user, on=on)
    return Section(
        "direction",
        "Chờ cho ý kiến",
        "Awaiting direction",
        len(found),
        Page("awaiting_direction"),
        items=[_doc_item(d) for d in found[:PREVIEW]],
    )


async def _to_route(db: AsyncSession, user: User) -> Section:
    waiting = and_(
        Document.agency_id == user.agency_id,
        Document.direction == catalogue.Direction.INCOMING,
        Document.status == catalogue.Status.REGISTERED,
    )
    count = await db.scalar(select(func.count()).select_from(Document).where(waiting))
    first = await db.scalars(
        select(Document)
        .where(waiting)
        .order_by(Document.urgency.desc(), Document.created_at)
        .limit(PREVIEW)
    )
    return Section(
        "to-route",
        "Chờ phân công",
        "To route",
        int(count or 0),
        Page("documents", query="inbox=cho-phan-cong"),
        items=[_doc_item(d) for d in first],
    )


async def _overdue_units(db: AsyncSession, user: User, now: datetime) -> Section:
    """The agency's chủ trì work past its deadline, by lead unit (top-level hops)."""
    rows = list(
        await db.execute(
            select(Document.unit_id, Unit.name, func.count(func.distinct(Document.id)))
            .join(Assignment, Assignment.document_id == Document.id)
            .outerjoin(Unit, Unit.id == Document.unit_id)
            .where(
                Document.agency_id == user.agency_id,
                Assignment.part == Part.LEAD.value,
                Assignment.state.in_((*WORKING, State.DELEGATED.value)),
                Assignment.deadline < now,
                Assignment.parent_id.is_(None),
            )
            .group_by(Document.unit_id, Unit.name)
            .order_by(func.count(func.distinct(Document.id)).desc())
        )
    )
    total = sum(int(n) for _, _, n in rows)
    figures = [(name or "—", name or "—", int(n)) for _, name, n in rows[:PREVIEW]]
    return Section(
        "overdue-units",
        "Quá hạn của các đơn vị",
        "Overdue in the units",
        total,
        Page("dashboard"),
        figures=figures,
        alarm=total > 0,
    )


async def _sent_down_late(db: AsyncSession, user: User, now: datetime) -> Section | None:
    """Documents sent over the axis this year whose recipients are late: past the deadline
    without completing, or slow to receive. None when nothing was sent."""
    on = now.astimezone(VIETNAM).date()
    rows = await tracking.by_recipient(
        db, agency_id=user.agency_id, now=now, start=date(on.year, 1, 1), end=on
    )
    if not rows:
        return None

    def late(r: tracking.RecipientFigures) -> int:
        return r.overdue + r.late_receipt

    total = sum(late(r) for r in rows)
    figures = [
        (r.name, r.name, late(r)) for r in sorted(rows, key=lambda r: -late(r))[:PREVIEW] if late(r)
    ]
    return Section(
        "sent-late",
        "Văn bản gửi xuống quá hạn",
        "Sent down, late",
        total,
        Page("exchange_sent"),
        figures=figures,
        alarm=total > 0,
    )


async def _unit(db: AsyncSession, user: User, now: datetime) -> Section:
    """A unit head: the unit's hops not yet handed down, and the unit's overdue work."""
    mine = and_(Assignment.unit_id == user.unit_id, Assignment.user_id.is_(None))
    to_hand = list(
        await db.scalars(
            select(Document)
            .join(Assignment, Assignment.document_id == Document.id)
            .where(
                mine,
                Assignment.state == State.ACTIVE.value,
                Assignment.part != Part.INFORM.value,
            )
            .order_by(Document.urgency.desc(), Assignment.deadline.is_(None), Assignment.deadline)
        )
    )
    overdue = await db.scalar(
        select(func.count(func.distinct(Assignment.document_id)))
        .join(User, User.id == Assignment.user_id, isouter=True)
        .where(
            or_(mine, User.unit_id == user.unit_id),
            Assignment.state.in_(WORKING),
            Assignment.part != Part.INFORM.value,
            Assignment.deadline < now,
        )
    )
    return Section(
        "unit",
        "Chờ giao trong đơn vị",
        "To hand down in the unit",
        len(to_hand),
        Page("documents", query="inbox=viec-cua-toi"),
        items=[_doc_item(d) for d in to_hand[:PREVIEW]],
        figures=[("Đơn vị quá hạn", "Overdue in the unit", int(overdue or 0))],
        alarm=bool(overdue),
    )


async def _my_work(db: AsyncSession, user: User, now: datetime) -> Section:
    """ "Việc của tôi": open chủ trì / phối hợp hops given to the person, by deadline."""
    rows = list(
        await db.execute(
            select(Document, func.min(Assignment.deadline))
            .join(Assignment, Assignment.document_id == Document.id)
            .where(
                Assignment.user_id == user.id,
                Assignment.state.in_(WORKING),
                Assignment.part != Part.INFORM.value,
            )
            .group_by(Document.id)
        )
    )
    local = now.astimezone(VIETNAM)
    end_of_today = start_of(local.date() + timedelta(days=1))
    end_of_week = start_of(local.date() + timedelta(days=7 - local.weekday()))

    def due(row: tuple[Document, datetime | None]) -> datetime:
        return row[1] or datetime.max.replace(tzinfo=VIETNAM)

    rows.sort(key=lambda r: (due((r[0], r[1])), -r[0].urgency))
    deadlines = [d for _, d in rows if d is not None]
    overdue = sum(1 for d in deadlines if d < now)
    today_ = sum(1 for d in deadlines if now <= d < end_of_today)
    week = sum(1 for d in deadlines if end_of_today <= d < end_of_week)
    items = [
        Item(
            Page("document", {"document_id": d.id}), d.subject, d.urgency, d.number_symbol, deadline
        )
        for d, deadline in rows[:PREVIEW]
    ]
    return Section(
        "my-work",
        "Việc của tôi",
        "My work",
        len(rows),
        Page("documents", query="inbox=viec-cua-toi"),
        items=items,
        figures=[
            ("Quá hạn", "Overdue", overdue),
            ("Hôm nay", "Today", today_),
            ("Tuần này", "This week", week),
        ],
        alarm=overdue > 0,
    )


async def _returned_drafts(db: AsyncSession, user: User) -> Section:
    mine = [
        m
        for m in await drafts.my_drafts(db, author_id=user.id)
        if m.document.status == catalogue.Status.RETURNED
    ]
    return Section(
        "returned",
        "Dự thảo bị trả lại",
        "Returned drafts",
        len(mine),
        Page("drafts_mine"),
        items=[
            _doc_item(m.document, page="draft_view", note=m.returned.body if m.returned else "")
            for m in mine[:PREVIEW]
        ],
        alarm=bool(mine),
    )


async def _to_issue(db: AsyncSession, user: User) -> Section:
    found = await issue.issuable(db, agency_id=user.agency_id)
    return Section(
        "to-issue",
        "Chờ phát hành",
        "To issue",
        len(found),
        Page("issue_queue"),
        items=[_doc_item(d) for d in found[:PREVIEW]],
    )


async def _from_axis(db: AsyncSession, user: User) -> Section:
    found = await reception.inbox(db, agency_id=user.agency_id)
    return Section(
        "from-axis",
        "Nhận qua trục liên thông",
        "Received over the axis",
        len(found),
        Page("exchange_inbox"),
        items=[
            Item(
                Page("exchange_received", {"received_id": r.id}),
                r.subject or r.document_key_text,
                r.urgency,
                r.number_symbol,
                note=r.sender_name,
            )
            for r in found[:PREVIEW]
        ],
    )
