"""The leader's dashboard: documents by status, overdue work per unit and person, on-time rate,
median and 90th-percentile handling time, weekly trend, and the year-end table per person.

Scope: a leader sees the agency, a unit head their unit (documents whose lead unit is theirs).
"Handling time" is from routing (the top chủ trì hop's creation) to its completion.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import VIETNAM
from backend.documents.queries import start_of
from backend.documents.tables import Document
from backend.models import Unit, User
from backend.workflow.tables import OPEN_STATES, Assignment, Part, State


@dataclass(frozen=True)
class Scope:
    agency_id: int
    unit_id: int | None = None  # a unit head's unit

    def documents(self) -> ColumnElement[bool]:
        clause = and_(Document.agency_id == self.agency_id, Document.direction == "incoming")
        return and_(clause, Document.unit_id == self.unit_id) if self.unit_id else clause


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
    days: list[float] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None

    @property
    def median_days(self) -> float | None:
        return percentile(self.days, 50)


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

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (the value below which pct % of the values lie)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _local_day(at: datetime) -> date:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(VIETNAM).date()


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def numbers(
    db: AsyncSession, *, scope: Scope, start: date, end: date, today: date, weeks: int = 12
) -> Numbers:
    """Documents received from `start` to `end` (inclusive) in `scope`, as of `today`."""
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
    top = list(
        await db.execute(
            select(Assignment, Document.unit_id)
            .join(Document, Document.id == Assignment.document_id)
            .where(in_period, Assignment.parent_id.is_(None), Assignment.part == Part.LEAD.value)
        )
    )
    overdue_units: Counter[int | None] = Counter()
    completed = on_time = 0
    durations: list[float] = []
    done_weeks: Counter[date] = Counter()
    for hop, unit_id in top:
        if hop.state in OPEN_STATES and hop.deadline and _local_day(hop.deadline) < today:
            overdue_units[unit_id] += 1
        if hop.state == State.COMPLETED and hop.closed_at is not None:
            completed += 1
            closed = _local_day(hop.closed_at)
            on_time += hop.deadline is None or _aware(hop.closed_at) <= _aware(hop.deadline)
            durations.append(
                (_aware(hop.closed_at) - _aware(hop.created_at)).total_seconds() / 86400
            )
            done_weeks[_monday(closed)] += 1
    people = await _people(db, in_period=in_period, today=today)
    unit_names = dict(
        (uid, name)
        for uid, name in await db.execute(
            select(Unit.id, Unit.name).where(Unit.agency_id == scope.agency_id)
        )
    )
    received = Counter(
        _monday(_local_day(at))
        for at in await db.scalars(select(Document.created_at).where(in_period))
    )
    last = _monday(min(today, end))
    week_list = [last - timedelta(weeks=n) for n in reversed(range(weeks))]
    return Numbers(
        by_status=by_status,
        overdue_by_unit=sorted(
            ((u, unit_names.get(u, "—") if u else "—", n) for u, n in overdue_units.items()),
            key=lambda row: -row[2],
        ),
        overdue_by_person=sorted(
            ((p.user_id, p.name, p.overdue_open) for p in people if p.overdue_open),
            key=lambda row: -row[2],
        ),
        completed=completed, on_time=on_time,
        median_days=percentile(durations, 50), p90_days=percentile(durations, 90),
        weeks=[(w, received[w], done_weeks[w]) for w in week_list],
        people=people,
    )  # fmt: skip


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _people(
    db: AsyncSession, *, in_period: ColumnElement[bool], today: date
) -> list[PersonRow]:
    """Per person: the chủ trì hops they held themselves (the leaves of the routing tree)."""
    rows = await db.execute(
        select(Assignment, User.full_name, Unit.name)
        .join(Document, Document.id == Assignment.document_id)
        .join(User, User.id == Assignment.user_id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .where(in_period, Assignment.part == Part.LEAD.value, Assignment.user_id.is_not(None))
    )
    found: dict[int, dict[str, object]] = {}
    tallies: dict[int, Counter[str]] = defaultdict(Counter)
    days: dict[int, list[float]] = defaultdict(list)
    for hop, name, unit in rows:
        assert hop.user_id is not None
        found.setdefault(hop.user_id, {"name": name, "unit": unit or ""})
        tally = tallies[hop.user_id]
        tally["assigned"] += 1
        if hop.state == State.COMPLETED and hop.closed_at is not None:
            tally["completed"] += 1
            ok = hop.deadline is None or _aware(hop.closed_at) <= _aware(hop.deadline)
            tally["on_time" if ok else "late"] += 1
            days[hop.user_id].append(
                (_aware(hop.closed_at) - _aware(hop.created_at)).total_seconds() / 86400
            )
        elif (
            hop.state in (State.ACTIVE, State.IN_PROGRESS)
            and hop.deadline
            and _local_day(hop.deadline) < today
        ):
            tally["overdue_open"] += 1
    return sorted(
        (
            PersonRow(
                user_id=uid,
                name=str(info["name"]),
                unit=str(info["unit"]),
                assigned=tallies[uid]["assigned"],
                completed=tallies[uid]["completed"],
                on_time=tallies[uid]["on_time"],
                late=tallies[uid]["late"],
                overdue_open=tallies[uid]["overdue_open"],
                days=days[uid],
            )
            for uid, info in found.items()
        ),
        key=lambda p: (p.unit, p.name),
    )


async def drill_down(
    db: AsyncSession, *, scope: Scope, start: date, end: date, today: date, metric: str,
    key: str = "",
) -> list[Document]:  # fmt: skip
    """The documents behind one number of the dashboard."""
    in_period = and_(
        scope.documents(),
        Document.created_at >= start_of(start),
        Document.created_at < start_of(end + timedelta(days=1)),
    )
    query = select(Document).where(in_period)
    overdue = and_(
        Assignment.state.in_(OPEN_STATES), Assignment.deadline < start_of(today),
        Assignment.part == Part.LEAD.value,
    )  # fmt: skip
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
    return list(await db.scalars(query.order_by(Document.created_at.desc()).limit(500)))
