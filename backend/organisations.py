"""Agencies (with their mã định danh) and units, including unit merges that keep history."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.clock import Clock
from backend.core.errors import ConflictError, NotFoundError, ValidationError
from backend.core.models import Agency, Unit, User

# QCVN 102:2016 organisation identifier, e.g. 000.00.01.H53.
AGENCY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
MAX_LEVEL = 4


def validate_agency_code(code: str) -> str:
    code = code.strip().upper()
    if not AGENCY_CODE.match(code):
        raise ValidationError(
            f"Mã định danh “{code}” không đúng định dạng NNN.NN.NN.Xnn (ví dụ 000.00.01.H53).",
            f"Agency code {code!r} does not match NNN.NN.NN.Xnn (e.g. 000.00.01.H53).",
        )
    return code


async def create_agency(
    db: AsyncSession,
    *,
    clock: Clock,
    code: str,
    name: str,
    short_name: str,
    parent: Agency | None = None,
    actor_id: int | None = None,
    place_name: str = "",
) -> Agency:
    code = validate_agency_code(code)
    if not name.strip() or not short_name.strip():
        raise ValidationError(
            "Tên cơ quan và tên viết tắt không được để trống.",
            "Agency name and short name are required.",
        )
    level = 1 if parent is None else parent.level + 1
    if level > MAX_LEVEL:
        raise ValidationError(
            f"Cơ quan chỉ có tối đa {MAX_LEVEL} cấp.",
            f"Agencies have at most {MAX_LEVEL} levels.",
        )
    if await db.scalar(select(Agency.id).where(Agency.code == code)) is not None:
        raise ConflictError(
            f"Mã định danh {code} đã được dùng.", f"Agency code {code} is already in use."
        )
    agency = Agency(
        code=code,
        name=name.strip(),
        short_name=short_name.strip(),
        place_name=place_name.strip(),
        parent_id=parent.id if parent else None,
        level=level,
        created_at=clock.now(),
    )
    db.add(agency)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="agency.created",
        actor_id=actor_id,
        object_type="agency",
        object_id=agency.id,
        detail={"code": code, "name": agency.name},
    )
    return agency


async def create_unit(
    db: AsyncSession,
    *,
    clock: Clock,
    agency: Agency,
    name: str,
    short_name: str,
    actor_id: int | None = None,
) -> Unit:
    unit = Unit(
        agency_id=agency.id,
        name=name.strip(),
        short_name=short_name.strip(),
        created_at=clock.now(),
    )
    db.add(unit)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="unit.created",
        actor_id=actor_id,
        object_type="unit",
        object_id=unit.id,
        detail={"agency": agency.code, "name": unit.name},
    )
    return unit


async def merge_units(
    db: AsyncSession,
    *,
    clock: Clock,
    sources: list[Unit],
    target: Unit,
    actor_id: int | None = None,
) -> None:
    """Merge `sources` into `target`: people move, records keep pointing at their old unit.

    A merged unit is never deleted; it records its successor and when the merge happened, so a
    document registered by "Phòng Kinh tế" in 2025 still says so after the re-organisation.
    """
    if not target.active:
        raise ValidationError(
            "Không thể sáp nhập vào một phòng đã bị sáp nhập.",
            "Cannot merge into a unit that was itself merged.",
        )
    now = clock.now()
    for source in sources:
        if source.id == target.id or source.agency_id != target.agency_id:
            raise ValidationError(
                "Chỉ sáp nhập các phòng khác nhau của cùng một cơ quan.",
                "Only distinct units of the same agency can be merged.",
            )
        if not source.active:
            raise ConflictError(
                f"Phòng “{source.name}” đã được sáp nhập trước đó.",
                f"Unit {source.name!r} was already merged.",
            )
        source.merged_into_id = target.id
        source.merged_at = now
        await db.execute(update(User).where(User.unit_id == source.id).values(unit_id=target.id))
        await audit.record(
            db,
            clock=clock,
            action="unit.merged",
            actor_id=actor_id,
            object_type="unit",
            object_id=source.id,
            detail={"into": target.id, "from_name": source.name, "into_name": target.name},
        )
    await db.flush()


async def current_unit(db: AsyncSession, unit: Unit) -> Unit:
    """Follow merges to the unit that carries on `unit`'s work today."""
    seen = {unit.id}
    while unit.merged_into_id is not None:
        successor = await db.get(Unit, unit.merged_into_id)
        if successor is None or successor.id in seen:
            raise NotFoundError("Dữ liệu sáp nhập phòng bị lỗi.", "Broken unit merge chain.")
        seen.add(successor.id)
        unit = successor
    return unit


async def agency_by_code(db: AsyncSession, code: str) -> Agency:
    agency = await db.scalar(select(Agency).where(Agency.code == validate_agency_code(code)))
    if agency is None:
        raise NotFoundError(f"Không tìm thấy cơ quan có mã {code}.", f"No agency with code {code}.")
    return agency
