"""Document lists: who sees what (the SQL twin of policy.may), filters, keyset pagination."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.clock import VIETNAM
from backend.documents import catalogue, textnorm
from backend.documents.tables import Document
from backend.identity import policy
from backend.identity.policy import WHOLE_AGENCY, Action, DocumentRef, Principal
from backend.workflow.tables import Assignment, Part, State

PAGE_SIZE = 25


def sees_whole_agency(principal: Principal) -> bool:
    return policy.may(principal, Action.VIEW_DOCUMENT, WHOLE_AGENCY)


def document_scope(principal: Principal) -> ColumnElement[bool]:
    """Rows `principal` may see; agrees with `policy.may(principal, VIEW_DOCUMENT, ref)`."""
    in_agency = Document.agency_id == principal.agency_id
    if sees_whole_agency(principal):
        return in_agency
    if not policy.may(principal, Action.VIEW_DOCUMENT):
        return false()
    # One correlated EXISTS (an index probe per document), not `id IN (…)` per kind: beside the
    # OR, PostgreSQL can only hash an IN list that fits in work_mem, and a unit's 300,000
    # assignments at a million documents do not: the list then took minutes.
    to_them: ColumnElement[bool] = Assignment.user_id == principal.user_id
    if (unit := policy.held_unit(principal)) is None:
        return and_(in_agency, _given(to_them))
    return and_(
        in_agency, or_(Document.unit_id == unit, _given(or_(to_them, Assignment.unit_id == unit)))
    )


def _given(to: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(Assignment.document_id == Document.id, to)


@dataclass(frozen=True)
class AccessKeys:
    """`document_scope` in PostgreSQL's `documents.access_keys` (kept by the triggers of
    migration 0019): a document of `agency_id` is in the scope exactly when its keys hold one of
    `keys`. A user is their id, a unit minus its id."""

    agency_id: int
    keys: tuple[int, ...]


def access_keys(principal: Principal) -> AccessKeys | None:
    """The access keys of `document_scope(principal)`; None for a whole-agency scope."""
    if sees_whole_agency(principal):
        return None
    if not policy.may(principal, Action.VIEW_DOCUMENT):
        return AccessKeys(principal.agency_id, ())
    if (unit := policy.held_unit(principal)) is None:
        return AccessKeys(principal.agency_id, (principal.user_id,))
    return AccessKeys(principal.agency_id, (principal.user_id, -unit))


def ref(
    document: Document, *, assignee_ids: Sequence[int] = (), unit_ids: Sequence[int] = ()
) -> DocumentRef:
    return DocumentRef(
        agency_id=document.agency_id,
        unit_id=document.unit_id,
        assignee_ids=tuple(assignee_ids),
        assignee_unit_ids=tuple(unit_ids),
    )


async def load_ref(db: AsyncSession, document: Document) -> DocumentRef:
    """The policy's view of a document, with everyone it was given to."""
    rows = await db.execute(
        select(Assignment.user_id, Assignment.unit_id).where(Assignment.document_id == document.id)
    )
    pairs = list(rows)
    users = sorted({u for u, _ in pairs if u is not None})
    units = sorted({d for _, d in pairs if d is not None})
    return ref(document, assignee_ids=users, unit_ids=units)


@dataclass(frozen=True)
class Filters:
    direction: str | None = None
    statuses: tuple[str, ...] = ()
    type_code: str | None = None
    urgency: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    issuer: str = ""
    # Open work of one person: chủ trì or phối hợp hops given to them, not handed down.
    mine_of: int | None = None
    mine_unit: int | None = None
    mine: bool = False
    # With mine_of: what was sent to the person (or unit) "để biết" instead, whatever its state.
    inform: bool = False

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.mine_of is not None:
            holder = Assignment.user_id == self.mine_of
            if self.mine_unit is not None:
                holder = or_(holder, Assignment.unit_id == self.mine_unit)
            if self.inform:
                given = select(Assignment.document_id).where(
                    holder, Assignment.part == Part.INFORM.value
                )
            else:
                given = select(Assignment.document_id).where(
                    holder,
                    Assignment.state.in_((State.ACTIVE.value, State.IN_PROGRESS.value)),
                    Assignment.part != Part.INFORM.value,
                )
            found.append(Document.id.in_(given))
        if self.direction:
            found.append(Document.direction == self.direction)
        if self.statuses:
            found.append(Document.status.in_(self.statuses))
        if self.type_code:
            found.append(Document.type_code == self.type_code)
        if self.urgency is not None:
            found.append(Document.urgency == self.urgency)
        if self.date_from:
            found.append(Document.created_at >= start_of(self.date_from))
        if self.date_to:
            found.append(Document.created_at < start_of(self.date_to + timedelta(days=1)))
        if self.issuer.strip():
            found.append(Document.issuer_key.contains(textnorm.fold(self.issuer), autoescape=True))
        return found


def start_of(day: date) -> datetime:
    # Days start at midnight in Hà Nội; compared in UTC (SQLite stores UTC wall time).
    return datetime.combine(day, time(), tzinfo=VIETNAM).astimezone(UTC)


# Inboxes: a name in the URL, a fixed set of filters, the roles that have it.
@dataclass(frozen=True)
class Inbox:
    slug: str
    title_vi: str
    title_en: str
    filters: Filters
    action: Action  # who gets the tab: whoever may do this


INBOXES = {
    inbox.slug: inbox
    for inbox in (
        Inbox(
            "cho-phan-cong",
            "Chờ phân công",
            "To assign",
            Filters(direction="incoming", statuses=(catalogue.Status.REGISTERED,)),
            Action.ASSIGN_DOCUMENT,
        ),
        Inbox(
            "viec-cua-toi", "Việc của tôi", "My work", Filters(mine=True), Action.HANDLE_DOCUMENT
        ),
        Inbox(
            "de-biet",
            "Để biết",
            "For information",
            Filters(inform=True),
            Action.HANDLE_DOCUMENT,
        ),
        Inbox(
            "van-ban-den",
            "Văn bản đến",
            "Incoming",
            Filters(direction="incoming"),
            Action.VIEW_DOCUMENT,
        ),
    )
}


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            stamp, ident = raw.split("|")
            return cls(datetime.fromisoformat(stamp), int(ident))
        except ValueError:
            return None


@dataclass(frozen=True)
class Page:
    items: Sequence[Document]
    next_cursor: str | None


async def list_documents(
    db: AsyncSession,
    *,
    principal: Principal,
    filters: Filters,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """What `principal` may see, newest first."""
    return await list_rows(
        db, scope=document_scope(principal), filters=filters, after=after, limit=limit
    )


async def list_rows(
    db: AsyncSession,
    *,
    scope: ColumnElement[bool],
    filters: Filters,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """Newest first. Keyset pagination: (created_at, id) of the last row, never OFFSET."""
    position: ColumnElement[bool] = true()
    if after is not None:
        position = or_(
            Document.created_at < after.created_at,
            and_(Document.created_at == after.created_at, Document.id < after.id),
        )
    rows = list(
        await db.scalars(
            select(Document)
            .where(scope, position, *filters.clauses())
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    items = rows[:limit]
    cursor = Cursor(items[-1].created_at, items[-1].id).encode() if more and items else None
    return Page(items=items, next_cursor=cursor)
