"""The leader's dashboard: documents by status, overdue work per unit and person, on-time rate,
median and 90th-percentile handling time, weekly trend, and the year-end table per person.

Scope: a leader sees the agency, a unit head their unit (documents whose lead unit is theirs).
"Handling time" is from routing (the top chủ trì hop's creation) to its completion.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Index,
    Row,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.models import Unit, User
from backend.documents.queries import start_of
from backend.documents.tables import Document
from backend.signing_flow.tables import SigningItem, SigningTransaction
from backend.workflow.tables import OPEN_STATES, Assignment, DirectionRequest, Part, State

# Indexes the dashboard's aggregates read (migration 0009): the documents of an agency's year with
# the two columns grouped on and the join key, and the chủ trì hops with every column the figures
# need, so both sides of the join can be read from indexes alone.
DOCUMENTS_INDEX = Index(
    "ix_documents_dashboard",
    Document.agency_id,
    Document.direction,
    Document.created_at,
    Document.unit_id,
    Document.status,
    Document.id,
)
LEAD_HOPS_INDEX = Index(
    "ix_assignments_lead",
    Assignment.document_id,
    Assignment.parent_id,
    Assignment.user_id,
    Assignment.state,
    Assignment.deadline,
    Assignment.created_at,
    Assignment.closed_at,
    postgresql_where=text("part = 'lead'"),
    sqlite_where=text("part = 'lead'"),
)


@dataclass(frozen=True)
class Scope:
    agency_id: int
    unit_id: int | None = None  # a unit head's unit

    def documents(self) -> ColumnElement[bool]:
        clause = and_(Document.agency_id == self.agency_id, Document.direction == "incoming")
        return and_(clause, Document.unit_id == self.unit_id) if self.unit_id else clause


@dataclass(frozen=True)
class LeaderRow:
    user_id: int
    name: str
    routed: int = 0
    signed: int = 0
    # Of the routed, documents put before another leader: routed as their deputy.
    covered: int = 0


@dataclass(frozen=True)
class PersonRow:
    user_id: int
    name: str
    unit: str
    assigned: int = 0
    completed: int = 0
    on_time: int = 0
    late: int = 0
    overdue_open: int = 0
    median_days: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None


@dataclass(frozen=True)
class Numbers:
    by_status: dict[str, int]
    overdue_by_unit: list[tuple[int | None, str, int]]
    overdue_by_person: list[tuple[int, str, int]]
    completed: int
    on_time: int
    median_days: float | None
    p90_days: float | None
    weeks: list[tuple[date, int, int]]  # week start, received, completed
    people: list[PersonRow]
    # Who actually handled the leaders' work: routed, signed, of which while covering for
    # someone away (an absent leader's work counts for their deputy, not for them).
    leaders: list[LeaderRow] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (the value below which pct % of the values lie): what
    PostgreSQL's percentile_disc computes, so both databases give the same figures."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# Everything is aggregated in SQL (GROUP BY): the year of a large agency is a million rows, too
# many to bring into Python. The few expressions that differ between the two databases:
class _Sql:
    def __init__(self, db: AsyncSession) -> None:
        self.postgres = db.get_bind().dialect.name == "postgresql"

    def days(self, start: Any, stop: Any) -> Any:
        """stop - start in days, as a float."""
        if self.postgres:
            return func.extract("epoch", stop - start) / 86400.0
        return func.julianday(stop) - func.julianday(start)

    def local_monday(self, at: Any) -> Any:
        if self.postgres:
            return cast(func.date_trunc("week", func.timezone("Asia/Ho_Chi_Minh", at)), Date)
        return func.date(at, "+7 hours", "-6 days", "weekday 1")

    @staticmethod
    def as_date(value: object) -> date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    async def percentiles(
        self, db: AsyncSession, query: Select[Any], days: Any, key: Any, pcts: tuple[int, ...]
    ) -> dict[Any, list[float | None]]:
        """Nearest-rank percentiles of `days` per `key` over the rows of `query`."""
        if self.postgres:
            columns = [func.percentile_disc(p / 100).within_group(days) for p in pcts]
            rows = await db.execute(query.with_only_columns(key, *columns).group_by(key))
            return {k: [None if v is None else float(v) for v in values] for k, *values in rows}
        # SQLite has no ordered-set aggregates: one narrow column per row, ranked here.
        found: dict[Any, list[float]] = defaultdict(list)
        for k, value in await db.execute(query.with_only_columns(key, days)):
            found[k].append(float(value))
        return {k: [percentile(values, p) for p in pcts] for k, values in found.items()}


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def numbers(
    db: AsyncSession, *, scope: Scope, start: date, end: date, today: date, weeks: int = 12
) -> Numbers:
    """Documents received from `start` to `end` (inclusive) in `scope`, as of `today`."""
    sql = _Sql(db)
    if sql.postgres:
        # Hash joins and sorts of a year's rows: in memory rather than in batches on disk.
        await db.execute(text("SET LOCAL work_mem = '64MB'"))
    in_period = and_(
        scope.documents(),
        Document.created_at >= start_of(start),
        Document.created_at < start_of(end + timedelta(days=1)),
    )
    by_status = dict(
        (status, int(n))
        for status, n in await db.execute(
            select(Document.status, func.count()).where(in_period).group_by(Document.status)
        )
    )
    done = and_(Assignment.state == State.COMPLETED.value, Assignment.closed_at.is_not(None))
    on_time = and_(
        done, or_(Assignment.deadline.is_(None), Assignment.closed_at <= Assignment.deadline)
    )
    overdue = and_(
        Assignment.state.in_([s.value for s in OPEN_STATES]), Assignment.deadline < start_of(today)
    )
    top = (
        select(Assignment.id)
        .join(Document, Document.id == Assignment.document_id)
        .where(in_period, Assignment.parent_id.is_(None), Assignment.part == Part.LEAD.value)
    )
    by_unit = list(
        await db.execute(
            top.with_only_columns(
                Document.unit_id, _count(overdue), _count(done), _count(on_time)
            ).group_by(Document.unit_id)
        )
    )
    days = sql.days(Assignment.created_at, Assignment.closed_at)
    spread = (await sql.percentiles(db, top.where(done), days, literal(1), (50, 90))).get(1)
    median_days, p90_days = spread if spread else (None, None)
    last = _monday(min(today, end))
    week_list = [last - timedelta(weeks=n) for n in reversed(range(weeks))]
    since = start_of(week_list[0])
    done_monday = sql.local_monday(Assignment.closed_at)
    done_weeks = {
        sql.as_date(monday): int(n)
        for monday, n in await db.execute(
            top.where(done, Assignment.closed_at >= since)
            .with_only_columns(done_monday, func.count())
            .group_by(done_monday)
        )
    }
    received_monday = sql.local_monday(Document.created_at)
    received = {
        sql.as_date(monday): int(n)
        for monday, n in await db.execute(
            select(received_monday, func.count())
            .where(in_period, Document.created_at >= since)
            .group_by(received_monday)
        )
    }
    people = await _people(db, sql, in_period=in_period, today=today)
    unit_names = dict(
        (uid, name)
        for uid, name in await db.execute(
            select(Unit.id, Unit.name).where(Unit.agency_id == scope.agency_id)
        )
    )
    leaders = (
        await _leaders(db, agency_id=scope.agency_id, in_period=in_period, start=start, end=end)
        if scope.unit_id is None
        else []
    )
    return Numbers(
        leaders=leaders,
        by_status=by_status,
        overdue_by_unit=sorted(
            ((u, unit_names.get(u, "—") if u else "—", int(n)) for u, n, _, _ in by_unit if n),
            key=lambda row: -row[2],
        ),
        overdue_by_person=sorted(
            ((p.user_id, p.name, p.overdue_open) for p in people if p.overdue_open),
            key=lambda row: -row[2],
        ),
        completed=sum(int(c) for _, _, c, _ in by_unit),
        on_time=sum(int(o) for _, _, _, o in by_unit),
        median_days=median_days,
        p90_days=p90_days,
        weeks=[(w, received.get(w, 0), done_weeks.get(w, 0)) for w in week_list],
        people=people,
    )


async def _leaders(
    db: AsyncSession, *, agency_id: int, in_period: ColumnElement[bool], start: date, end: date
) -> list[LeaderRow]:
    """Per person who routed or signed: documents of the period they routed themselves (the top
    chủ trì hop's author) and documents they signed from `start` to `end`; "covered" counts the
    routings of documents that had been put before another leader (done as their deputy)."""
    put_before_other = (
        select(DirectionRequest.id)
        .where(
            DirectionRequest.document_id == Assignment.document_id,
            DirectionRequest.leader_id != Assignment.assigned_by_id,
        )
        .exists()
    )
    routed = {
        uid: (int(n), int(c))
        for uid, n, c in await db.execute(
            select(
                Assignment.assigned_by_id,
                func.count(func.distinct(Assignment.document_id)),
                func.count(func.distinct(case((put_before_other, Assignment.document_id)))),
            )
            .join(Document, Document.id == Assignment.document_id)
            .where(in_period, Assignment.parent_id.is_(None), Assignment.part == Part.LEAD.value)
            .group_by(Assignment.assigned_by_id)
        )
    }
    signed = {
        uid: int(n)
        for uid, n in await db.execute(
            select(SigningTransaction.signer_id, func.count(func.distinct(SigningItem.document_id)))
            .join(SigningItem, SigningItem.transaction_id == SigningTransaction.id)
            .where(
                SigningTransaction.agency_id == agency_id,
                SigningItem.result == "signed",
                SigningTransaction.created_at >= start_of(start),
                SigningTransaction.created_at < start_of(end + timedelta(days=1)),
            )
            .group_by(SigningTransaction.signer_id)
        )
    }
    ids = set(routed) | set(signed)
    names = dict(
        (uid, name)
        for uid, name in await db.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    )
    return sorted(
        (
            LeaderRow(
                user_id=uid,
                name=names.get(uid, "—"),
                routed=routed.get(uid, (0, 0))[0],
                signed=signed.get(uid, 0),
                covered=routed.get(uid, (0, 0))[1],
            )
            for uid in ids
        ),
        key=lambda row: (-(row.routed + row.signed), row.name),
    )


async def _people(
    db: AsyncSession, sql: _Sql, *, in_period: ColumnElement[bool], today: date
) -> list[PersonRow]:
    """Per person: the chủ trì hops they held themselves (the leaves of the routing tree)."""
    done = and_(Assignment.state == State.COMPLETED.value, Assignment.closed_at.is_not(None))
    ok = or_(Assignment.deadline.is_(None), Assignment.closed_at <= Assignment.deadline)
    working = and_(
        Assignment.state.in_((State.ACTIVE.value, State.IN_PROGRESS.value)),
        Assignment.deadline < start_of(today),
    )
    held = (
        select(Assignment.id)
        .join(Document, Document.id == Assignment.document_id)
        .where(in_period, Assignment.part == Part.LEAD.value, Assignment.user_id.is_not(None))
    )
    days = sql.days(Assignment.created_at, Assignment.closed_at)
    counts = [
        func.count(),
        _count(done),
        _count(and_(done, ok)),
        _count(and_(done, ~ok)),
        _count(working),
    ]
    if sql.postgres:
        # One pass: the median of the completed hops beside the counts.
        median: Any = func.percentile_disc(0.5).within_group(days).filter(done)
    else:
        median = literal(None)
    tallies = (
        held.with_only_columns(Assignment.user_id, *counts, median.label("median")).group_by(
            Assignment.user_id
        )
    ).subquery()
    rows = list(
        await db.execute(
            select(tallies, User.full_name, Unit.name)
            .join(User, User.id == tallies.c.user_id)
            .outerjoin(Unit, Unit.id == User.unit_id)
        )
    )
    if sql.postgres:
        medians = {row[0]: [None if row[6] is None else float(row[6])] for row in rows}
    else:
        medians = await sql.percentiles(db, held.where(done), days, Assignment.user_id, (50,))
    return sorted(
        (
            PersonRow(
                user_id=uid,
                name=name,
                unit=unit or "",
                assigned=int(assigned),
                completed=int(completed),
                on_time=int(on_time),
                late=int(late),
                overdue_open=int(overdue),
                median_days=medians.get(uid, [None])[0],
            )
            for uid, assigned, completed, on_time, late, overdue, _, name, unit in rows
        ),
        key=lambda p: (p.unit, p.name),
    )


async def drill_down(
    db: AsyncSession,
    *,
    scope: Scope,
    start: date,
    end: date,
    today: date,
    metric: str,
    key: str = "",
) -> list[Row[tuple[int, str, str, date | None]]]:
    """The documents behind one number of the dashboard (id, subject, status, deadline)."""
    in_period = and_(
        scope.documents(),
        Document.created_at >= start_of(start),
        Document.created_at < start_of(end + timedelta(days=1)),
    )
    # Only what the list shows: a year's rows are wide (search text, signature checks, files).
    query = select(Document.id, Document.subject, Document.status, Document.deadline).where(
        in_period
    )
    overdue = and_(
        Assignment.state.in_(OPEN_STATES),
        Assignment.deadline < start_of(today),
        Assignment.part == Part.LEAD.value,
    )
    if metric == "status":
        query = query.where(Document.status == key)
    elif metric == "overdue-unit":
        hops = select(Assignment.document_id).where(overdue, Assignment.parent_id.is_(None))
        unit_clause = Document.unit_id == int(key) if key.isdigit() else Document.unit_id.is_(None)
        query = query.where(Document.id.in_(hops), unit_clause)
    elif metric == "overdue-person" and key.isdigit():
        hops = select(Assignment.document_id).where(
            overdue, Assignment.user_id == int(key), Assignment.state != State.DELEGATED.value
        )
        query = query.where(Document.id.in_(hops))
    else:
        return []
    return list(await db.execute(query.order_by(Document.created_at.desc()).limit(500)))
