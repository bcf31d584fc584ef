"""The agency directory of the national axis (danh mục mã định danh) and the recipient picker.

`sync` (in `directory_sync`) brings the directory's rows into `agencies`, writing only what
changed. `search` is the picker: diacritics- and case-insensitive, over hosted agencies and the
live directory, without the axis' system codes (`W00`, §4.1 of the interchange reference); how
it stays fast at 123,000 agencies on both databases, and how it ranks, is in `directory_index`.
`resolve` checks what a clerk chose before it is passed on.

`groups` offers the sending agency's whole province at once. The directory has no field saying
what an agency is, so the rule reads the name and the level (QCVN 102 level from the code):
 * sở, ban, ngành — the name starts with "Sở", "Ban" or "Thanh tra tỉnh", at level 2 (QĐ 20
   codes: any level below the province);
 * UBND cấp huyện — "UBND"/"Ủy ban nhân dân", then "huyện", "quận", "thị xã" or "thành phố",
   below the province itself;
 * UBND cấp xã — "UBND"/"Ủy ban nhân dân", then "xã", "phường" or "thị trấn".
Limits: a Văn phòng UBND tỉnh, Công an tỉnh or Bảo hiểm xã hội tỉnh is not among "sở, ban,
ngành" (choose them one by one); a name abbreviated otherwise ("UB huyện") or without its kind
("UBND Bình Minh") falls outside its group; a province is its level-1 block ("H53"), taken to
be the same in QCVN 102 and QĐ 20 codes.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.core.errors import ValidationError
from backend.core.models import Agency, AuditEntry, Unit
from backend.interchange.directory_index import (
    DirectoryIndex,
    IndexRow,
    fold_words,
    looks_like_code,
)
from backend.interchange.directory_sync import (
    AUDIT_OBJECT,
    SYSTEM_MARK,
    DirectoryRow,
    InvalidReason,
    InvalidRow,
    SyncReport,
    code_level,
    is_system_code,
    province_of,
    root_code,
    sync,
    valid_code,
)
from backend.organisations import AGENCY_CODE

__all__ = [
    "AgencyListing",
    "DirectoryRow",
    "InvalidReason",
    "InvalidRow",
    "Recipient",
    "RecipientGroup",
    "RecipientKind",
    "SyncReport",
    "code_level",
    "groups",
    "is_system_code",
    "listing",
    "province_of",
    "resolve",
    "search",
    "sync",
    "valid_code",
]

CHUNK = 5_000
MAX_RECIPIENTS = 5_000


class RecipientKind(enum.StrEnum):
    AGENCY = "agency"  # another agency: over the axis, or inside this system if hosted
    UNIT = "unit"  # a unit (phòng) of the sending agency itself


@dataclass(frozen=True)
class Recipient:
    kind: RecipientKind
    value: str  # the agency's code; the unit's id
    name: str
    # What tells same-named agencies apart: the parent, the province; a unit's short name.
    context: str = ""
    hosted: bool = False

    @property
    def field(self) -> str:
        """The form field the picker submits it as."""
        return "recipient" if self.kind is RecipientKind.AGENCY else "unit"


@dataclass(frozen=True)
class RecipientGroup:
    key: str
    label_vi: str
    label_en: str
    members: tuple[Recipient, ...] = field(default_factory=tuple)

    def label(self, lang: str) -> str:
        return self.label_vi if lang == "vi" else self.label_en


def _visible() -> ColumnElement[bool]:
    """What the picker offers: our own agencies, and the live directory without system codes."""
    return or_(
        Agency.hosted.is_(True),
        and_(Agency.directory_deleted.is_(False), Agency.code.not_like(f"%{SYSTEM_MARK}%")),
    )


class _Holder:
    def __init__(self) -> None:
        self.index: DirectoryIndex | None = None
        self.rebuild: asyncio.Task[None] | None = None


# This process' index of each database (engine); rebuilt when its version moves on.
_HOLDERS: weakref.WeakKeyDictionary[Engine, _Holder] = weakref.WeakKeyDictionary()
# How long a search waits for a rebuilt index before it answers from the previous one (the
# directory's ten-second-old state; what is chosen is checked again by `resolve`). A small
# directory rebuilds well within it; 123,000 agencies take one to three seconds.
REBUILD_WAIT = 0.3
log = logging.getLogger(__name__)


async def _version(db: AsyncSession) -> tuple[int, int]:
    agencies = select(func.max(Agency.id)).scalar_subquery()
    changes = (
        select(func.max(AuditEntry.id))
        .where(AuditEntry.object_type == AUDIT_OBJECT[0], AuditEntry.object_id == AUDIT_OBJECT[1])
        .scalar_subquery()
    )
    row = (await db.execute(select(agencies, changes))).one()
    return int(row[0] or 0), int(row[1] or 0)


async def _build(db: AsyncSession) -> DirectoryIndex:
    version = await _version(db)
    result = await (await db.connection()).execute(
        select(Agency.id, Agency.code, Agency.other_code, Agency.name, Agency.search_key).where(
            _visible()
        )
    )
    rows = [
        IndexRow(id, code, other, name, key, province_of(code))
        for id, code, other, name, key in result
    ]
    # The build is pure Python: in a thread, so the event loop keeps answering.
    return await asyncio.to_thread(DirectoryIndex, rows, version=version)


async def _rebuild(engine: AsyncEngine, holder: _Holder) -> None:
    async with AsyncSession(engine) as db:
        holder.index = await _build(db)


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("recipient index not rebuilt", exc_info=task.exception())


def _holder(db: AsyncSession) -> _Holder:
    bind = db.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    holder = _HOLDERS.get(engine)
    if holder is None:
        holder = _HOLDERS[engine] = _Holder()
    return holder


def _start_rebuild(db: AsyncSession, holder: _Holder) -> asyncio.Task[None]:
    assert isinstance(db.bind, AsyncEngine)
    if holder.rebuild is None or holder.rebuild.done():
        holder.rebuild = asyncio.create_task(_rebuild(db.bind, holder))
        holder.rebuild.add_done_callback(_report)
    return holder.rebuild


async def warm(db: AsyncSession) -> None:
    """Start building this process' index if it is missing or stale, without waiting for it:
    the page that holds the picker calls this, so the first search after a start or a change
    finds the index ready (123,000 agencies take one to three seconds)."""
    holder = _holder(db)
    if not isinstance(db.bind, AsyncEngine):
        return
    if holder.index is None or holder.index.version != await _version(db):
        _start_rebuild(db, holder)


async def _index(db: AsyncSession) -> DirectoryIndex:
    holder = _holder(db)
    version = await _version(db)
    if holder.index is not None and holder.index.version == version:
        return holder.index
    if not isinstance(db.bind, AsyncEngine):  # a session on a connection: no second session
        holder.index = await _build(db)
        return holder.index
    rebuild = _start_rebuild(db, holder)
    if holder.index is None:
        await asyncio.shield(rebuild)  # the first: nothing to answer from meanwhile
    else:
        await asyncio.wait({rebuild}, timeout=REBUILD_WAIT)
    assert holder.index is not None
    return holder.index


async def _agency_recipients(
    db: AsyncSession, index: DirectoryIndex, ids: Sequence[int]
) -> list[Recipient]:
    if not ids:
        return []
    parent = Agency.__table__.alias("parent")
    result = await db.execute(
        select(Agency.id, Agency.code, Agency.name, Agency.hosted, parent.c.name, parent.c.level)
        .outerjoin(parent, parent.c.id == Agency.parent_id)
        .where(Agency.id.in_(ids))
    )
    found = {row[0]: row for row in result}
    recipients = []
    for agency_id in ids:
        if agency_id not in found:
            continue
        _, code, name, hosted, parent_name, parent_level = found[agency_id]
        context = [parent_name] if parent_name else []
        root = index.roots.get(root_code(code), "")
        if root and root != name and (parent_level is None or parent_level > 1):
            context.append(root)
        recipients.append(
            Recipient(RecipientKind.AGENCY, code, name, " · ".join(context), bool(hosted))
        )
    return recipients


async def search(
    db: AsyncSession,
    query: str,
    *,
    limit: int = 20,
    exclude_codes: Iterable[str] = (),
    near: str = "",
) -> list[Recipient]:
    """Agencies for the picker, best first (see `directory_index` for the ranking).

    Args:
        query: words of the name in any case, with or without diacritics ("so tai chinh"),
            initials ("STC"), or a code or its start ("000.00.32").
        exclude_codes: codes already chosen, and the sender's own.
        near: the sending agency's code: agencies of its province rank first.
    """
    excluded = {c.strip().upper() for c in exclude_codes}
    index = await _index(db)
    ids = index.search(query, limit=limit + len(excluded), near=province_of(near.upper()))
    found = await _agency_recipients(db, index, ids)
    return [r for r in found if r.value not in excluded][:limit]


_DISTRICT = ("huyen", "quan", "thi xa", "thanh pho")
_COMMUNE = ("xa", "phuong", "thi tran")
_COUNCIL = (("uy", "ban", "nhan", "dan"), ("ubnd",))


def _group_of(name: str, code: str, level: int) -> str:
    words = fold_words(name)
    for prefix in _COUNCIL:
        if tuple(words[: len(prefix)]) == prefix:
            rest = " ".join(words[len(prefix) :]) + " "
            if level > 1 and rest.startswith(tuple(f"{k} " for k in _COMMUNE)):
                return "communes"
            if level > 1 and rest.startswith(tuple(f"{k} " for k in _DISTRICT)):
                return "districts"
            return ""
    text = " ".join(words) + " "
    if text.startswith(("so ", "ban ", "thanh tra tinh ")) and (
        level == 2 or (level > 1 and not AGENCY_CODE.match(code))
    ):
        return "departments"
    return ""


GROUPS = {
    "departments": ("Tất cả các sở, ban, ngành", "All departments and agencies"),
    "districts": ("Tất cả UBND cấp huyện", "All district People's Committees"),
    "communes": ("Tất cả UBND cấp xã", "All commune People's Committees"),
    "units": ("Tất cả các đơn vị trong cơ quan", "All units of our agency"),
}


async def groups(db: AsyncSession, *, agency: Agency) -> list[RecipientGroup]:
    """The sending agency's quick choices: its province's departments, district and commune
    People's Committees (the rule and its limits: module docstring), and its own units."""
    block = province_of(agency.code)
    members: dict[str, list[Recipient]] = {k: [] for k in GROUPS}
    if block:
        result = await db.execute(
            select(Agency.code, Agency.name, Agency.level, Agency.hosted)
            .where(
                _visible(),
                Agency.id != agency.id,
                or_(Agency.code.like(f"%.{block}"), Agency.code.like(f"{block}.%")),
            )
            .order_by(Agency.code)
        )
        for code, name, level, hosted in result:
            if province_of(code) == block and (key := _group_of(name, code, level)):
                members[key].append(Recipient(RecipientKind.AGENCY, code, name, "", hosted))
    units = await db.scalars(
        select(Unit)
        .where(Unit.agency_id == agency.id, Unit.merged_into_id.is_(None))
        .order_by(Unit.name)
    )
    members["units"] = [
        Recipient(RecipientKind.UNIT, str(u.id), u.name, u.short_name) for u in units
    ]
    return [
        RecipientGroup(key, vi, en, tuple(members[key]))
        for key, (vi, en) in GROUPS.items()
        if members[key]
    ]


async def resolve(
    db: AsyncSession, *, agency: Agency, codes: Iterable[str], unit_ids: Iterable[str | int]
) -> list[Recipient]:
    """The recipients a clerk chose (form fields `recipient` and `unit`), checked: agencies that
    the picker offers (not deleted, not system codes, not the sender) and active units of the
    sending agency. Order kept, duplicates dropped.

    Raises:
        ValidationError: an unknown code or unit, or more than MAX_RECIPIENTS.
    """
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    units = list(dict.fromkeys(str(u).strip() for u in unit_ids if str(u).strip()))
    if len(wanted) + len(units) > MAX_RECIPIENTS:
        raise ValidationError(
            f"Chỉ chọn được tối đa {MAX_RECIPIENTS} nơi nhận.",
            f"At most {MAX_RECIPIENTS} recipients can be chosen.",
        )
    known: dict[str, Recipient] = {}
    for start in range(0, len(wanted), CHUNK):
        result = await db.execute(
            select(Agency.code, Agency.name, Agency.hosted).where(
                Agency.code.in_(wanted[start : start + CHUNK]),
                _visible(),
                Agency.id != agency.id,
            )
        )
        for code, name, hosted in result:
            known[code] = Recipient(RecipientKind.AGENCY, code, name, "", hosted)
    unit_rows = {}
    numbers = [int(u) for u in units if u.isdigit()]
    if numbers:
        unit_rows = {
            str(u.id): u
            for u in await db.scalars(
                select(Unit).where(
                    Unit.id.in_(numbers),
                    Unit.agency_id == agency.id,
                    Unit.merged_into_id.is_(None),
                )
            )
        }
    missing = [c for c in wanted if c not in known] + [u for u in units if u not in unit_rows]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise ValidationError(
            f"Không tìm thấy nơi nhận: {shown}. Hãy chọn lại trong danh sách.",
            f"Unknown recipients: {shown}. Choose them again from the list.",
        )
    return [known[c] for c in wanted] + [
        Recipient(RecipientKind.UNIT, u, unit_rows[u].name, unit_rows[u].short_name) for u in units
    ]


@dataclass(frozen=True)
class AgencyListing:
    agencies: list[Agency]
    total: int
    limit: int


async def listing(
    db: AsyncSession, *, query: str = "", directory: bool = False, limit: int = 100
) -> AgencyListing:
    """The administrator's list: hosted agencies, or (`directory=True`) the directory's, the
    deleted ones included; filtered by words of the name or a code prefix, by code."""
    conditions: list[Any] = [Agency.hosted.is_(not directory)]
    code = query.strip().upper()
    words = fold_words(query)
    if code and looks_like_code(code):
        conditions.append(or_(Agency.code.startswith(code), Agency.other_code.startswith(code)))
    elif words:
        conditions += [Agency.search_key.contains(w, autoescape=True) for w in words]
    total = await db.scalar(select(func.count()).select_from(Agency).where(*conditions))
    agencies = await db.scalars(
        select(Agency).where(*conditions).order_by(Agency.code).limit(limit)
    )
    return AgencyListing(list(agencies), int(total or 0), limit)
