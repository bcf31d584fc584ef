"""Six months of an office's work, planned in memory: incoming documents registered on working
days with their số đến, routed and handled (03 → 04 → 05 → 06, some returned 02, some overdue),
and the outgoing documents the office issued. Deterministic: the same seed and the same "now"
give the same plan. Writing it is `backend.demo.bulk`'s job; this module touches no database.

The plan follows the domain's rules (backend.workflow.assignments, reports): one open chủ trì
at the top, a hop's deadline never later than its parent's nor before its creation, a returned
chủ trì closes its helpers, a completion closes the chain above it, each step a timeline event.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from backend.core.clock import VIETNAM
from backend.documents import catalogue
from backend.documents.registers import INCOMING_SERIES
from backend.workflow import deadlines
from backend.workflow.deadlines import Calendar
from backend.workflow.tables import Part, State

from . import vocabulary as words

T = TypeVar("T")

DEFAULT_SEED = 2026
DAILY_INCOMING = 28
DAILY_OUTGOING = 10

# Units that handle incoming documents: (head, specialists). The office chief heads TH.
ROUTING = {
    "KT": ("truongphongkt", ("chuyenvien1", "chuyenvien3")),
    "NC": ("truongphongnc", ("chuyenvien2", "chuyenvien4")),
    "KGVX": ("truongphongkgvx", ("chuyenvien5", "chuyenvien7")),
    "TH": ("chanhvanphong", ("chuyenvien6",)),
}
UNIT_WEIGHTS = (("KT", 38), ("NC", 27), ("KGVX", 25), ("TH", 10))
ROUTERS = (("chutich", 30), ("phochutich", 50), ("chanhvanphong", 20))
SOURCES = (
    (catalogue.Source.AXIS, 80),
    (catalogue.Source.POST, 9),
    (catalogue.Source.EMAIL, 5),
    (catalogue.Source.HAND, 6),
)


@dataclass(frozen=True)
class Issuer:
    code: str
    name: str
    abbreviation: str
    kind: str  # "so" | "ubnd" | "bo" | "khac"


@dataclass(frozen=True)
class Staff:
    """Ids the plan refers to: the office, the province it signs for, people, units."""

    office_id: int
    office_short: str
    province_short: str
    users: dict[str, int]
    names: dict[str, tuple[str, str]]  # username → (full name, title)
    units: dict[str, int]


@dataclass
class Hop:
    row: dict[str, object]
    parent: Hop | None = None
    id: int | None = None


@dataclass
class Step:
    """A timeline event (with its audit entry)."""

    row: dict[str, object]
    hop: Hop | None = None


@dataclass
class PlannedDocument:
    row: dict[str, object]
    pages: int
    hops: list[Hop] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    requests: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Plan:
    incoming: list[PlannedDocument]
    outgoing: list[PlannedDocument]
    # (direction, year, series) → last number given
    counters: dict[tuple[str, int, str], int]


def _abbreviation(name: str) -> tuple[str, str]:
    if name.startswith(("UBND", "Ủy ban nhân dân")):
        return "UBND", "ubnd"
    if name == "Văn phòng Chính phủ":
        return "VPCP", "bo"
    for cut in (" tỉnh ", " thành phố ", " huyện ", " thị xã ", " - Bộ"):
        name = name.split(cut)[0]
    letters = [w[0].upper() for w in name.replace(",", " ").split() if w not in {"và", "-"}]
    kind = "so" if name.startswith("Sở") else "bo" if name.startswith("Bộ") else "khac"
    return "".join(letters[:7]), kind


def issuers(directory: Sequence[tuple[str, str, str | None]], *, exclude: set[str]) -> list[Issuer]:
    found = []
    for code, name, _parent in directory:
        if code in exclude:
            continue
        abbreviation, kind = _abbreviation(name)
        found.append(Issuer(code, name, abbreviation, kind))
    return found


def moment(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value


def _pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=VIETNAM).astimezone(UTC)


def _office_time(rng: random.Random, day: date, start: int = 7 * 60 + 30) -> datetime:
    minutes = rng.randint(start, 16 * 60 + 45)
    return _local(day, time(minutes // 60, minutes % 60, rng.randint(0, 59)))


def _period(day: date) -> str:
    quarter = (day.month - 1) // 3 + 1
    choice = day.day % 3
    if choice == 0:
        return f"quý {'I' * quarter if quarter < 4 else 'IV'} năm {day.year}"
    if choice == 1:
        return f"tháng {day.month} năm {day.year}"
    return f"6 tháng {'đầu' if day.month <= 6 else 'cuối'} năm {day.year}"


def subject(rng: random.Random, type_code: str, day: date) -> str:
    template = rng.choice(words.SUBJECTS[type_code])
    return template.format(topic=rng.choice(words.TOPICS), period=_period(day), year=day.year)


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(words.SURNAMES)} {rng.choice(words.MIDDLE)} {rng.choice(words.GIVEN)}"


class Planner:
    def __init__(
        self,
        *,
        staff: Staff,
        issuers: list[Issuer],
        seed: int,
        now: datetime,
        months: int,
        daily_incoming: int,
        daily_outgoing: int,
        calendar: Calendar | None = None,
        taken: frozenset[tuple[str, int, str]] = frozenset(),
    ) -> None:
        self.staff, self.issuers = staff, issuers
        self.rng = random.Random(seed)  # noqa: S311 (demo data, reproducible from its seed)
        self.now = now
        self.today = now.astimezone(VIETNAM).date()
        self.calendar = calendar or Calendar()
        self.start = self.today - timedelta(days=round(months * 30.44))
        self.daily_incoming, self.daily_outgoing = daily_incoming, daily_outgoing
        # Issuers' own numbers: one increasing series per issuer and year; `taken` are
        # (issuer code, number, symbol) already registered (the sample documents).
        self.issuer_numbers: dict[tuple[str, int], int] = {}
        self.taken = taken

    def working_days(self) -> list[date]:
        days, day = [], self.start
        while day < self.today:
            if self.calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def later(self, moment: datetime, working_days: int) -> datetime:
        day = self.calendar.add_working_days(moment.astimezone(VIETNAM).date(), working_days)
        return _office_time(self.rng, day, start=8 * 60)

    def plan(self) -> Plan:
        days = self.working_days()
        incoming = [doc for day in days for doc in self._incoming_day(day)]
        outgoing = [doc for day in days for doc in self._outgoing_day(day)]
        counters: dict[tuple[str, int, str], int] = {}
        # Số đến: one gap-free series per year, in the order the documents were received.
        # (A stable sort of documents already in order of arrival: ties keep the plan's order.)
        for doc in sorted(incoming, key=lambda d: moment(d.row["received_at"])):
            year = doc.row["register_year"]
            assert isinstance(year, int)
            key = (catalogue.Direction.INCOMING.value, year, INCOMING_SERIES)
            counters[key] = counters.get(key, 0) + 1
            doc.row["register_number"] = counters[key]
        for doc in outgoing:  # already in issue order
            year, series = doc.row["register_year"], doc.row["register_series"]
            assert isinstance(year, int) and isinstance(series, str)
            key = (catalogue.Direction.OUTGOING.value, year, series)
            counters[key] = counters.get(key, 0) + 1
            doc.row["register_number"] = doc.row["number"] = counters[key]
        return Plan(incoming, outgoing, counters)

    # Incoming ------------------------------------------------------------------------------

    def _issuer_number(self, issuer: Issuer, year: int, symbol: str) -> int:
        key = (issuer.code, year)
        number = self.issuer_numbers.get(key) or self.rng.randint(20, 400)
        while True:
            number += self.rng.randint(1, 12)
            if (issuer.code, number, symbol) not in self.taken:
                break
        self.issuer_numbers[key] = number
        return number

    def _incoming_day(self, day: date) -> list[PlannedDocument]:
        rng = self.rng
        count = rng.randint(round(self.daily_incoming * 0.6), round(self.daily_incoming * 1.4))
        times = sorted(_office_time(rng, day) for _ in range(count))
        return [self._incoming(received) for received in times if received < self.now]

    def _incoming(self, received: datetime) -> PlannedDocument:
        rng, staff = self.rng, self.staff
        issuer = rng.choice(self.issuers)
        type_code = _pick(rng, words.INCOMING_TYPES)
        if type_code == "CD" and issuer.kind not in {"bo", "ubnd"}:
            type_code = "CV"
        urgency = 3 if type_code == "CD" else _pick(rng, words.URGENCIES)
        day = received.astimezone(VIETNAM).date()
        issued = day - timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
        abbreviation = catalogue.TYPES[type_code].abbreviation
        symbol = (
            f"{issuer.abbreviation}-{rng.choice(('VP', 'KHTC', 'TH', 'NV'))}"
            if not abbreviation
            else f"{abbreviation}-{issuer.abbreviation}"
        )
        number = self._issuer_number(issuer, issued.year, symbol)
        title, competence = rng.choice(words.SIGNERS[issuer.kind])
        pages = rng.choice((1, 1, 2, 2, 2, 3, 4))
        row: dict[str, object] = {
            "agency_id": staff.office_id,
            "direction": catalogue.Direction.INCOMING.value,
            "type_code": type_code,
            "number": number,
            "symbol": symbol,
            "issue_date": issued,
            "issue_place": "",
            "issuer_name": issuer.name,
            "issuer_code": issuer.code,
            "issuer_key": issuer.code,
            "subject": subject(rng, type_code, day),
            "signer_name": person_name(rng),
            "signer_title": title,
            "signer_competence": competence,
            "urgency": urgency,
            "deadline": None,
            "source": _pick(rng, SOURCES).value,
            "status": catalogue.Status.REGISTERED.value,
            "recipients": "",
            "register_year": day.year,
            "register_series": INCOMING_SERIES,
            "register_number": None,
            "received_at": received,
            "registered_by_id": staff.users["vanthu"],
            "unit_id": None,
            "duplicate_of_id": None,
            "signature_check": {"status": "unsigned"},
            "created_at": received,
        }
        doc = PlannedDocument(row, pages)
        self._route(doc, received, urgency)
        return doc

    def _step(
        self,
        doc: PlannedDocument,
        kind: str,
        actor: str,
        at: datetime,
        *,
        hop: Hop | None = None,
        note: str = "",
        detail: dict[str, object] | None = None,
    ) -> None:
        doc.steps.append(
            Step(
                {
                    "actor_id": self.staff.users[actor],
                    "kind": kind,
                    "note": note,
                    "detail": detail or {},
                    "device": "eOffice (demo)",
                    "at": at,
                    "client_key": None,
                },
                hop,
            )
        )

    def _hop(
        self,
        doc: PlannedDocument,
        *,
        part: Part,
        by: str,
        at: datetime,
        deadline: datetime | None,
        direction: str,
        unit: str | None = None,
        user: str | None = None,
        parent: Hop | None = None,
    ) -> Hop:
        hop = Hop(
            {
                "part": part.value,
                "unit_id": self.staff.units[unit] if unit else None,
                "user_id": self.staff.users[user] if user else None,
                "assigned_by_id": self.staff.users[by],
                "deadline": deadline,
                "direction": direction,
                "state": State.ACTIVE.value,
                "progress": 0,
                "result": "",
                "created_at": at,
                "closed_at": None,
            },
            parent,
        )
        doc.hops.append(hop)
        return hop

    def _route(self, doc: PlannedDocument, received: datetime, urgency: int) -> None:
        rng, now, row = self.rng, self.now, doc.row
        router = _pick(rng, ROUTERS)
        urgent = urgency >= catalogue.Urgency.THUONG_KHAN
        assign_at = (
            received + timedelta(minutes=rng.randint(20, 120))
            if urgent
            else self.later(received, rng.choice((0, 1, 1)))
        )
        if assign_at <= received:
            assign_at = received + timedelta(minutes=rng.randint(30, 90))
        request: dict[str, object] | None = None
        if router != "chanhvanphong" and rng.random() < 0.5:
            forward_at = received + timedelta(minutes=rng.randint(10, 60))
            if forward_at < now:
                leader = self.staff.users[router]
                self._step(
                    doc,
                    "forwarded",
                    "chanhvanphong",
                    forward_at,
                    note=rng.choice(words.FORWARD_NOTES),
                    detail={"leader": f"u:{leader}"},
                )
                request = {
                    "leader_id": leader,
                    "requested_by_id": self.staff.users["chanhvanphong"],
                    "note": doc.steps[-1].row["note"],
                    "created_at": forward_at,
                    "closed_at": None,
                }
                doc.requests.append(request)
        if request is not None:
            assign_at = max(assign_at, moment(request["created_at"]) + timedelta(minutes=10))
        if assign_at >= now:
            if urgency == 0 and rng.random() < 0.3:
                row["deadline"] = self.calendar.add_working_days(self.today, 7)
            return  # 03: registered, waiting to be routed
        if request is not None:
            request["closed_at"] = assign_at
        span = {1: 3, 2: 2, 3: 1}.get(urgency) or rng.choice((5, 7, 10, 10, 15))
        assign_day = assign_at.astimezone(VIETNAM).date()
        deadline = deadlines.due_at(self.calendar.add_working_days(assign_day, span))
        unit = _pick(rng, UNIT_WEIGHTS)
        head, specialists = ROUTING[unit]
        unit_name = {
            "KT": "Phòng Kinh tế",
            "NC": "Phòng Nội chính",
            "KGVX": "Phòng Khoa giáo - Văn xã",
            "TH": "Phòng Tổng hợp",
        }[unit]
        direction = rng.choice(words.DIRECTIONS).format(unit=unit_name)
        direct = rng.random() < 0.2
        worker_name = rng.choice(specialists)
        top = self._hop(
            doc,
            part=Part.LEAD,
            by=router,
            at=assign_at,
            deadline=deadline,
            direction=direction,
            unit=None if direct else unit,
            user=worker_name if direct else None,
        )
        lead_key = f"u:{top.row['user_id']}" if direct else f"d:{top.row['unit_id']}"
        others = [u for u in ROUTING if u != unit]
        finish, stuck, returned = self._fate(received, assign_at, deadline, may_return=not direct)
        still_open = finish is None or finish >= now
        cooperate = still_open and returned is None and rng.random() < 0.15
        inform = rng.random() < 0.1
        helpers: list[Hop] = []
        if cooperate:
            helpers.append(
                self._hop(
                    doc,
                    part=Part.COOPERATE,
                    by=router,
                    at=assign_at,
                    deadline=deadline,
                    direction=direction,
                    unit=others[0],
                )
            )
        if inform:
            helpers.append(
                self._hop(
                    doc,
                    part=Part.INFORM,
                    by=router,
                    at=assign_at,
                    deadline=None,
                    direction=direction,
                    unit=others[-1],
                )
            )
        row["status"] = catalogue.Status.ASSIGNED.value
        row["deadline"] = deadlines.local_day(deadline)
        row["unit_id"] = self.staff.units[unit]
        detail: dict[str, object] = {
            "lead": lead_key,
            "cooperate": [f"d:{self.staff.units[others[0]]}"] if cooperate else [],
            "inform": [f"d:{self.staff.units[others[-1]]}"] if inform else [],
            "deadline": deadline.isoformat(),
        }
        self._step(doc, "assigned", router, assign_at, hop=top, note=direction, detail=detail)
        if returned is not None:
            if returned < now:
                reason = rng.choice(words.RETURN_REASONS)
                for hop in [top, *helpers]:
                    hop.row.update(state=State.RETURNED.value, closed_at=returned)
                top.row["result"] = reason
                row["status"] = catalogue.Status.RETURNED.value
                self._step(doc, "returned", head, returned, hop=top, note=reason)
            return
        worker = top
        if not direct:
            handed = assign_at + timedelta(minutes=rng.randint(30, 300))
            if handed >= now or handed >= deadline:
                return
            note = rng.choice(words.REASSIGN_NOTES)
            worker = self._hop(
                doc,
                part=Part.LEAD,
                by=head,
                at=handed,
                deadline=deadline,
                direction=note,
                user=worker_name,
                parent=top,
            )
            top.row["state"] = State.DELEGATED.value
            child: dict[str, object] = {
                "lead": f"u:{worker.row['user_id']}",
                "cooperate": [],
                "inform": [],
                "deadline": deadline.isoformat(),
                "parent": None,
            }
            self._step(doc, "reassigned", head, handed, hop=worker, note=note, detail=child)
        started = moment(worker.row["created_at"])
        if finish is not None and finish <= started:
            finish = started + (deadline - started) / 2
        end = finish if finish is not None else now
        # Progress reports between the start and the end (or now, while it is open).
        reports = 0 if (end - started) < timedelta(hours=4) else rng.choice((0, 1, 1, 2))
        if stuck:
            reports = max(reports, 1)
        percent = 0
        for index in range(reports):
            at = started + (end - started) * ((index + 1) / (reports + 1.5))
            if at >= now:
                break
            percent = min(90, percent + rng.choice((20, 30, 40)))
            self._step(
                doc,
                "progress",
                worker_name,
                at,
                hop=worker,
                note=rng.choice(words.PROGRESS_NOTES),
                detail={"percent": percent},
            )
            worker.row.update(state=State.IN_PROGRESS.value, progress=percent)
            row["status"] = catalogue.Status.IN_PROGRESS.value
        for helper in helpers:
            if helper.row["part"] == Part.COOPERATE and rng.random() < 0.6:
                at = assign_at + (now - assign_at) / 3
                self._step(
                    doc,
                    "input",
                    ROUTING[others[0]][0],
                    at,
                    hop=helper,
                    note=rng.choice(words.INPUT_NOTES),
                    detail={"percent": None},
                )
                helper.row["state"] = State.IN_PROGRESS.value
        if finish is None or finish >= now:
            return
        result = rng.choice(words.RESULTS)
        closing: Hop | None = worker
        while closing is not None:
            closing.row.update(
                state=State.COMPLETED.value, closed_at=finish, progress=100, result=result
            )
            closing = closing.parent
        row["status"] = catalogue.Status.COMPLETED.value
        self._step(doc, "completed", worker_name, finish, hop=worker, note=result)

    def _fate(
        self, received: datetime, assign_at: datetime, deadline: datetime, *, may_return: bool
    ) -> tuple[datetime | None, bool, datetime | None]:
        """(finish, stuck, returned at): when the chủ trì completes (None: never, it is stuck
        past its deadline), or when the unit head sends it back; mostly on time, some late."""
        rng = self.rng
        age = (self.today - received.astimezone(VIETNAM).date()).days
        if may_return and age <= 35 and rng.random() < 0.05:
            return None, False, assign_at + timedelta(minutes=rng.randint(60, 600))
        if 14 <= age <= 100 and rng.random() < 0.04:
            return None, True, None
        span = deadline - assign_at
        if rng.random() < 0.86:
            return assign_at + span * rng.uniform(0.25, 0.97), False, None
        return self.later(deadline, rng.randint(1, 8)), False, None

    # Outgoing ------------------------------------------------------------------------------

    def _outgoing_day(self, day: date) -> list[PlannedDocument]:
        rng = self.rng
        count = rng.randint(round(self.daily_outgoing * 0.6), round(self.daily_outgoing * 1.4))
        times = sorted(_office_time(rng, day, start=8 * 60) for _ in range(count))
        return [self._outgoing(at) for at in times if at < self.now]

    def _outgoing(self, issued_at: datetime) -> PlannedDocument:
        rng, staff = self.rng, self.staff
        type_code = _pick(rng, words.OUTGOING_TYPES)
        signer = (
            "chanhvanphong"
            if type_code in {"CV", "TB"} and rng.random() < 0.15
            else ("chutich" if rng.random() < 0.35 else "phochutich")
        )
        competence = {"chutich": "TM.", "phochutich": "KT.", "chanhvanphong": "TL."}[signer]
        agency_short = staff.office_short if signer == "chanhvanphong" else staff.province_short
        abbreviation = catalogue.TYPES[type_code].abbreviation
        symbol = f"{abbreviation}-{agency_short}" if abbreviation else agency_short
        unit = _pick(rng, UNIT_WEIGHTS)
        author = rng.choice(ROUTING[unit][1])
        day = issued_at.astimezone(VIETNAM).date()
        drafted = issued_at - timedelta(days=rng.randint(1, 4), minutes=rng.randint(0, 300))
        full_name, title = staff.names[signer]
        row: dict[str, object] = {
            "agency_id": staff.office_id,
            "direction": catalogue.Direction.OUTGOING.value,
            "type_code": type_code,
            "number": None,
            "symbol": symbol,
            "issue_date": day,
            "issue_place": "Sông Hồng",
            "issuer_name": "",
            "issuer_code": "",
            "issuer_key": "",
            "subject": subject(rng, type_code, day),
            "signer_name": full_name,
            "signer_title": title,
            "signer_competence": competence,
            "urgency": _pick(rng, words.URGENCIES),
            "deadline": None,
            "source": "",
            "status": catalogue.Status.ISSUED.value,
            "recipients": rng.choice(words.RECIPIENTS),
            "register_year": day.year,
            "register_series": catalogue.TYPES[type_code].series,
            "register_number": None,
            "received_at": None,
            "registered_by_id": staff.users[author],
            "unit_id": staff.units[unit],
            "duplicate_of_id": None,
            "signature_check": {"status": "unsigned"},
            "created_at": drafted,
            # Not a column: when the clerk issued it (its audit entry).
            "_issued_at": issued_at,
        }
        return PlannedDocument(row, rng.choice((1, 2, 2, 3)))
