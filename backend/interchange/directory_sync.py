"""Bringing the axis' agency directory into `agencies` (`directory.sync` is the entry point).

Directory-only recipients are `hosted=False`; an agency with its own people here keeps
`hosted=True`, its name, code and place in our tree, and gains the directory's id, e-mail and
other code. A row finds its agency by the directory's id, else by either code (an agency the
directory lists under the other code of its QĐ 20 pair is the same agency). Only what differs
is written, in bulk: the existing agencies are read once, compared in memory, and the changes
go out as executemany statements of CHUNK rows; new agencies are inserted level by level of the
directory's tree (parents first), so each already knows its parent's id and nothing is updated
after it. A second sync of an unchanged directory writes nothing. Nothing is ever deleted:
documents refer to agencies, so a vanished agency is only flagged `directory_deleted`.

`search_key` is kept for rows whose name or codes change; a change of its rules
(`directory_index.search_key`) reaches existing rows only when their key is empty.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.clock import Clock
from backend.core.models import Agency
from backend.interchange.directory_index import search_key
from backend.organisations import AGENCY_CODE

# QĐ 20/2020/QĐ-TTg: the level-1 block first, e.g. "H37.02.02" (a Sở of Lạng Sơn).
QD20_CODE = re.compile(r"^[A-Z]\d{2}(?:\.[0-9A-Z]{2,3}){0,3}$")
# The axis' system (centre) codes, "00.53.W00": kept for the tree, never offered as recipients.
SYSTEM_MARK = "W00"
SYSTEM_CODE = re.compile(r"^[0-9A-Z]{2,3}(?:\.[0-9A-Z]{2,3}){1,3}$")
CODE_LENGTH = 13  # agencies.code
ID_LENGTH = 64  # agencies.axis_id, axis_parent_id
CHUNK = 5_000
EXAMPLES = 20
# The audit entries of directory changes; their highest id is half of the picker's version.
AUDIT_OBJECT = ("agency_directory", "axis")
TRUE_VALUES = {True, "1", "true", "True", "TRUE"}  # True == 1


# --- codes ------------------------------------------------------------------------------------


def is_system_code(code: str) -> bool:
    return SYSTEM_MARK in code


def valid_code(code: str) -> bool:
    """A mã định danh we store: QCVN 102 (`000.00.32.H53`), QĐ 20 (`H37.02.02`), or a system
    code of the axis (`00.53.W00`)."""
    if len(code) > CODE_LENGTH:
        return False
    if is_system_code(code):
        return bool(SYSTEM_CODE.match(code) or AGENCY_CODE.match(code))
    return bool(AGENCY_CODE.match(code) or QD20_CODE.match(code))


def code_level(code: str) -> int:
    """QCVN 102 `NNN.NN.NN.Xnn`: 000.00.00.Xnn is level 1, 000.00.NN.Xnn level 2,
    000.NN.NN.Xnn level 3, NNN.NN.NN.Xnn level 4. QĐ 20 `H37.02.02`: one level a part.
    A system code is a root (1)."""
    if is_system_code(code):
        return 1
    if AGENCY_CODE.match(code):
        lowest, middle, upper, _ = code.split(".")
        if lowest != "000":
            return 4
        return 3 if middle != "00" else 2 if upper != "00" else 1
    return min(code.count(".") + 1, 4)


def province_of(code: str) -> str:
    """The level-1 block: "H53" of 000.00.32.H53, "H37" of H37.02.02; "" for system codes."""
    if not code or is_system_code(code):
        return ""
    if AGENCY_CODE.match(code):
        return code.rsplit(".", 1)[1]
    return code.split(".", 1)[0]


def root_code(code: str) -> str:
    """The code of the level-1 agency of `code`'s province, in the same scheme."""
    block = province_of(code)
    if not block:
        return ""
    return f"000.00.00.{block}" if AGENCY_CODE.match(code) else block


# --- rows and reports -------------------------------------------------------------------------


class DirectoryRow(Protocol):
    """One row of the directory as the axis client returns it (getAgenciesList: id, pid, code,
    name, mail). Optional, read with getattr: `old_code`, `code102` (getAgenciesListQD20),
    `deleted` (getSynchronizeUnit)."""

    @property
    def id(self) -> str: ...
    @property
    def pid(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def mail(self) -> str: ...


class InvalidReason(enum.StrEnum):
    CODE = "code"  # not a mã định danh (QCVN 102, QĐ 20 or a W00 system code)
    NAME = "name"  # empty
    ID = "id"  # longer than the directory ids we store
    DUPLICATE = "duplicate"  # the same id or code twice in one list
    CONFLICT = "conflict"  # its code belongs to another agency here


REASONS = {
    InvalidReason.CODE: ("mã định danh không hợp lệ", "not a valid agency code"),
    InvalidReason.NAME: ("thiếu tên cơ quan", "no agency name"),
    InvalidReason.ID: ("mã trên trục quá dài", "directory id too long"),
    InvalidReason.DUPLICATE: ("trùng mã trong danh mục", "duplicate id or code in the list"),
    InvalidReason.CONFLICT: (
        "mã đang thuộc một cơ quan khác",
        "the code belongs to another agency here",
    ),
}


@dataclass(frozen=True)
class InvalidRow:
    axis_id: str
    code: str
    name: str
    reason: InvalidReason

    def message(self, lang: str = "vi") -> str:
        vi, en = REASONS[self.reason]
        return f"{self.code or self.axis_id}: {vi if lang == 'vi' else en}"


@dataclass(frozen=True)
class SyncReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    invalid: int = 0
    examples: tuple[InvalidRow, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)


class _Incoming(NamedTuple):  # a NamedTuple: a frozen dataclass costs 3 µs a row to build
    axis_id: str
    pid: str
    code: str
    name: str
    mail: str
    other_code: str
    deleted: bool


@dataclass(slots=True)
class _Known:
    """An agency as stored, changed in place into what this sync wants it to be."""

    id: int
    code: str
    axis_id: str | None
    axis_parent_id: str
    parent_id: int | None
    name: str
    mail: str
    other_code: str
    level: int
    deleted: bool
    hosted: bool
    search_key: str
    claimed: bool = False


def _text(value: object) -> str:
    if type(value) is str:
        return value.strip()
    return "" if value is None else str(value).strip()


def _name(value: object) -> str:
    text = _text(value)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())[:255]


def _parse(raw: DirectoryRow) -> _Incoming | InvalidRow:
    axis_id, pid = _text(raw.id), _text(raw.pid)
    code = _text(raw.code).upper()
    name = _name(raw.name)
    deleted = getattr(raw, "deleted", False) in TRUE_VALUES
    if len(axis_id) > ID_LENGTH or len(pid) > ID_LENGTH:
        return InvalidRow(axis_id[:ID_LENGTH], code, name, InvalidReason.ID)
    if not valid_code(code) and not (deleted and axis_id):
        return InvalidRow(axis_id, code, name, InvalidReason.CODE)
    if not name and not deleted:
        return InvalidRow(axis_id, code, name, InvalidReason.NAME)
    other = ""
    pair = (getattr(raw, "code102", None), getattr(raw, "old_code", None))
    for candidate in pair if pair != (None, None) else ():
        text = _text(candidate).upper()
        if text and text != code and valid_code(text):
            other = text
            break
    return _Incoming(axis_id, pid, code, name, _text(raw.mail)[:255], other, deleted)


# --- the plan ---------------------------------------------------------------------------------


class _Plan:
    def __init__(self, known: list[_Known]) -> None:
        self.known = known
        self.by_axis = {k.axis_id: k for k in known if k.axis_id}
        self.by_code: dict[str, _Known] = {k.code: k for k in known}
        self.by_other = {k.other_code: k for k in known if k.other_code}
        self.inserts: list[_Incoming] = []
        self.updates: dict[int, _Known] = {}
        self.recoded: list[int] = []
        self.moving: list[tuple[_Known, _Incoming]] = []
        self.unchanged = 0
        self.deleted = 0
        self.invalid: list[InvalidRow] = []

    def reject(self, row: _Incoming, reason: InvalidReason) -> None:
        self.invalid.append(InvalidRow(row.axis_id, row.code, row.name, reason))

    def match(self, row: _Incoming) -> _Known | None:
        for candidate in (
            self.by_code.get(row.code),
            self.by_other.get(row.code),
            self.by_code.get(row.other_code) if row.other_code else None,
        ):
            if candidate is not None and not candidate.claimed:
                return candidate
        return None

    def apply(self, agency: _Known, row: _Incoming) -> None:
        agency.claimed = True
        if row.deleted:
            if agency.deleted:
                self.unchanged += 1
            else:
                agency.deleted = True
                self.updates[agency.id] = agency
                self.deleted += 1
        elif not agency.hosted and row.code != agency.code:
            self.moving.append((agency, row))  # once every row is in: `settle`
        else:
            self._update(agency, row)

    def _update(self, agency: _Known, row: _Incoming) -> None:
        if agency.hosted:
            # Ours: its code, name and place in our tree stay; the directory's code, if it
            # lists the agency under the other one of a QĐ 20 pair, becomes the other code.
            other = row.code if row.code != agency.code else row.other_code
            name, code, other = agency.name, agency.code, "" if other == agency.code else other
        else:
            name, code, other = row.name, row.code, row.other_code
        axis_id = row.axis_id or agency.axis_id
        rekey = (name, code, other) != (agency.name, agency.code, agency.other_code)
        same = (axis_id, row.pid, row.mail) == (agency.axis_id, agency.axis_parent_id, agency.mail)
        if same and not (rekey or agency.deleted or not agency.search_key):
            self.unchanged += 1
            return
        agency.name, agency.other_code, agency.axis_id = name, other, axis_id
        agency.axis_parent_id, agency.mail, agency.deleted = row.pid, row.mail, False
        if rekey or not agency.search_key:
            agency.search_key = search_key(name, code, other)
        self.updates[agency.id] = agency

    def settle(self) -> None:
        """Agencies whose code changed take their new codes, unless an agency that keeps its
        code holds it (or two want it): those rows are refused. Codes may swap in one list."""
        while True:
            movers = {id(agency) for agency, _ in self.moving}
            kept = {code for code, a in self.by_code.items() if id(a) not in movers}
            wanted: dict[str, int] = {}
            for _, row in self.moving:
                wanted[row.code] = wanted.get(row.code, 0) + 1
            refused = [
                (agency, row)
                for agency, row in self.moving
                if row.code in kept or wanted[row.code] > 1
            ]
            if not refused:
                break
            for agency, row in refused:
                self.moving.remove((agency, row))
                self.reject(row, InvalidReason.CONFLICT)
                self.unchanged += 1
        for agency, _ in self.moving:
            del self.by_code[agency.code]
        for agency, row in self.moving:
            self.by_code[row.code] = agency
            agency.code, agency.level = row.code, code_level(row.code)
            agency.search_key = ""  # its key holds the code: a changed agency, whatever else
            self.recoded.append(agency.id)
            self._update(agency, row)
        self.moving.clear()

    def add(self, row: _Incoming) -> None:
        if row.deleted:
            self.unchanged += 1  # a deletion of what we never had
        elif row.code in self.by_code:
            self.reject(row, InvalidReason.CONFLICT)
        else:
            # Holds the code against later rows; never matched (claimed).
            self.by_code[row.code] = _Known(
                0, row.code, None, "", None, "", "", "", 0, False, False, "", claimed=True
            )
            self.inserts.append(row)

    def vanish(self) -> None:
        """A full list: what it no longer names is deleted from the directory."""
        for agency in self.known:
            if agency.axis_id and not agency.claimed and not agency.deleted:
                agency.deleted = True
                self.updates[agency.id] = agency
                self.deleted += 1

    def reparent(self, ids: dict[str, int]) -> list[_Known]:
        """Directory agencies point at the agency their `pid` names (none if it is not here);
        returns those that changed only in that."""
        moved: list[_Known] = []
        for agency in self.known:
            if agency.hosted or not agency.axis_id:
                continue
            parent = ids.get(agency.axis_parent_id) if agency.axis_parent_id else None
            if parent == agency.id:
                parent = None
            if parent != agency.parent_id:
                agency.parent_id = parent
                if agency.id not in self.updates:
                    self.updates[agency.id] = agency
                    moved.append(agency)
        return moved


# --- writing ----------------------------------------------------------------------------------

_COLUMNS = (
    Agency.id,
    Agency.code,
    Agency.axis_id,
    Agency.axis_parent_id,
    Agency.parent_id,
    Agency.name,
    Agency.mail,
    Agency.other_code,
    Agency.level,
    Agency.directory_deleted,
    Agency.hosted,
    Agency.search_key,
)
_TABLE = cast(Table, Agency.__table__)
_UPDATE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("b_id"))
    .values(
        code=bindparam("b_code"),
        axis_id=bindparam("b_axis_id"),
        axis_parent_id=bindparam("b_axis_parent_id"),
        parent_id=bindparam("b_parent_id"),
        name=bindparam("b_name"),
        mail=bindparam("b_mail"),
        other_code=bindparam("b_other_code"),
        level=bindparam("b_level"),
        directory_deleted=bindparam("b_deleted"),
        search_key=bindparam("b_search_key"),
        directory_synced_at=bindparam("b_at"),
    )
)
_PARK = update(_TABLE).where(_TABLE.c.id == bindparam("b_id")).values(code=bindparam("b_code"))
# Ids come back by code, in no particular order (asking for the order costs SQLite a statement
# a row).
_INSERT = insert(_TABLE).returning(_TABLE.c.id, _TABLE.c.code)


async def _known(db: AsyncSession) -> list[_Known]:
    # Core on the session's connection: the ORM's result machinery costs a second per 100,000.
    result = await (await db.connection()).execute(select(*_COLUMNS))
    rows: list[tuple[Any, ...]] = list(result)
    return [_Known(*row) for row in rows]


def _by_depth(rows: list[_Incoming]) -> list[list[_Incoming]]:
    """New rows in generations: a row whose parent is new too comes in a later one (a loop in
    the directory is cut somewhere; `_Plan.reparent` links its last member afterwards)."""
    new = {r.axis_id: r for r in rows if r.axis_id}
    depth: dict[str, int] = {}
    for axis_id in new:
        chain: list[str] = []
        on_chain: set[str] = set()
        current = axis_id
        while current in new and current not in depth and current not in on_chain:
            chain.append(current)
            on_chain.add(current)
            current = new[current].pid
        base = depth.get(current, -1)
        for offset, link in enumerate(reversed(chain), start=1):
            depth[link] = base + offset
    generations: list[list[_Incoming]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for row in rows:
        generations[depth.get(row.axis_id, 0)].append(row)
    return generations


async def _insert(db: AsyncSession, plan: _Plan, ids: dict[str, int], *, now: datetime) -> None:
    connection = await db.connection()
    for generation in _by_depth(plan.inserts):
        params = [
            {
                "code": r.code,
                "name": r.name,
                "short_name": "",
                "place_name": "",
                "parent_id": ids.get(r.pid) if r.pid else None,
                "level": code_level(r.code),
                "created_at": now,
                "hosted": False,
                "axis_id": r.axis_id or None,
                "axis_parent_id": r.pid,
                "mail": r.mail,
                "other_code": r.other_code,
                "directory_deleted": False,
                "directory_synced_at": now,
                "search_key": search_key(r.name, r.code, r.other_code),
            }
            for r in generation
        ]
        for chunk in _chunks(params):
            result = await connection.execute(_INSERT, chunk)
            created = dict((code, id_) for id_, code in result)
            for values in chunk:
                agency_id = created[values["code"]]
                if values["axis_id"]:
                    ids[values["axis_id"]] = agency_id
                plan.known.append(
                    _Known(
                        agency_id,
                        values["code"],
                        values["axis_id"],
                        values["axis_parent_id"],
                        values["parent_id"],
                        values["name"],
                        values["mail"],
                        values["other_code"],
                        values["level"],
                        False,
                        False,
                        values["search_key"],
                    )
                )


async def _write(db: AsyncSession, plan: _Plan, *, now: datetime) -> list[_Known]:
    """Inserts, then updates; returns the agencies that changed only in their parent."""
    connection = await db.connection()
    # A code may move to an agency whose old code another one takes in the same list: park
    # the moving codes first so that no statement breaks uniqueness.
    for chunk in _chunks([{"b_id": i, "b_code": f"~{i}"} for i in plan.recoded]):
        await connection.execute(_PARK, chunk)
    ids = {a.axis_id: a.id for a in plan.known if a.axis_id}
    await _insert(db, plan, ids, now=now)
    moved = plan.reparent(ids)
    updates = [
        {
            "b_id": a.id,
            "b_code": a.code,
            "b_axis_id": a.axis_id,
            "b_axis_parent_id": a.axis_parent_id,
            "b_parent_id": a.parent_id,
            "b_name": a.name,
            "b_mail": a.mail,
            "b_other_code": a.other_code,
            "b_level": a.level,
            "b_deleted": a.deleted,
            "b_search_key": a.search_key,
            "b_at": now,
        }
        for a in plan.updates.values()
        if a.id
    ]
    for chunk in _chunks(updates):
        await connection.execute(_UPDATE, chunk)
    return moved


def _chunks(items: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


async def sync(
    db: AsyncSession, *, clock: Clock, rows: Iterable[DirectoryRow], full: bool
) -> SyncReport:
    """Bring the directory's `rows` into `agencies`, writing only what changed.

    Args:
        rows: the directory's list (`full=True`: all of it, so agencies it no longer names are
            flagged deleted) or a delta (`full=False`; rows may carry `deleted`).
    Returns:
        The counts; invalid rows (never stored) with up to twenty examples.
    """
    if db.get_bind().dialect.name == "postgresql":
        # One sync at a time (the hourly delta and the daily full list may run together, in
        # any process): each plans from the agencies it reads, and two plans adding the same
        # agency collide on its code. Released at commit; the second then finds it known.
        await db.execute(text("SELECT pg_advisory_xact_lock(7431002)"))
    now = clock.now()
    plan = _Plan(await _known(db))
    seen_ids: set[str] = set()
    seen_codes: set[str] = set()
    unmatched: list[_Incoming] = []
    for raw in rows:
        row = _parse(raw)
        if isinstance(row, InvalidRow):
            plan.invalid.append(row)
            continue
        if (row.axis_id and row.axis_id in seen_ids) or (row.code and row.code in seen_codes):
            plan.reject(row, InvalidReason.DUPLICATE)
            continue
        seen_ids.add(row.axis_id)
        seen_codes.add(row.code)
        agency = plan.by_axis.get(row.axis_id) if row.axis_id else None
        if agency is not None:
            plan.apply(agency, row)
        else:
            unmatched.append(row)
    # By code only once every id has found its agency: an agency whose code moved on must not
    # be taken for the newcomer that now bears it.
    plan.settle()
    for row in unmatched:
        agency = plan.match(row)
        if agency is None:
            plan.add(row)
        else:
            plan.apply(agency, row)
    plan.settle()
    if full:
        plan.vanish()
    updated = len(plan.updates) - plan.deleted
    known = len(plan.known)
    moved = await _write(db, plan, now=now)
    # A parent that arrived in this list moves its older children (updated, not unchanged);
    # a new agency linked late (a loop in the directory) was counted as added.
    new = {a.id for a in plan.known[known:]}
    listed = sum(1 for a in moved if a.claimed)
    old = sum(1 for a in moved if a.id not in new)
    report = SyncReport(
        added=len(plan.inserts),
        updated=updated + old,
        unchanged=plan.unchanged - listed,
        deleted=plan.deleted,
        invalid=len(plan.invalid),
        examples=tuple(plan.invalid[:EXAMPLES]),
    )
    if report.changed:
        await audit.record(
            db,
            clock=clock,
            action="directory.synced",
            object_type=AUDIT_OBJECT[0],
            object_id=AUDIT_OBJECT[1],
            detail={
                "full": full,
                "added": report.added,
                "updated": report.updated,
                "deleted": report.deleted,
                "invalid": report.invalid,
            },
        )
    return report
