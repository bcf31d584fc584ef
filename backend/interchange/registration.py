"""Our agencies on the axis: `registerAgency` for each agency hosted here (`eoffice axis
register`).

An agency sends and receives over the axis only once it is registered under our system id
(the VXP API, README §6.1): the administrator runs this when the system is connected and after
adding an agency. Registering again updates the directory's entry (name, e-mail), so running it
twice is harmless. Parents go before their children (the axis places a unit under its parent);
a top-level agency goes under our system id. What the axis refuses is reported per agency and
the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.clock import Clock
from backend.core.errors import ValidationError
from backend.core.models import Agency
from backend.interchange.errors import AxisRefusedError
from backend.interchange.vxp import VxpClient


@dataclass(frozen=True)
class Outcome:
    code: str
    name: str
    parent_code: str
    error: str = ""  # the axis' refusal; empty when registered


async def hosted(db: AsyncSession, codes: Sequence[str] = ()) -> list[Agency]:
    """The agencies hosted here (or those of `codes`), parents before their children."""
    query = select(Agency).where(Agency.hosted.is_(True)).order_by(Agency.level, Agency.code)
    wanted = [code.strip().upper() for code in codes]
    if wanted:
        query = query.where(Agency.code.in_(wanted))
    found = list(await db.scalars(query))
    missing = sorted(set(wanted) - {agency.code for agency in found})
    if missing:
        raise ValidationError(
            f"Không có cơ quan nào của hệ thống này với mã {', '.join(missing)}.",
            f"No agency of this system has the code {', '.join(missing)}.",
        )
    return found


async def register(
    db: AsyncSession,
    *,
    clock: Clock,
    axis: VxpClient,
    system_id: str,
    agencies: Sequence[Agency],
) -> list[Outcome]:
    """Register each agency under its parent (or `system_id`), in order; the outcome of each.
    Network failures (`AxisUnavailableError`, `AxisOutcomeUnknownError`) stop the run: running
    it again is safe."""
    parents = {
        agency.id: agency.code
        for agency in await db.scalars(
            select(Agency).where(Agency.id.in_({a.parent_id for a in agencies if a.parent_id}))
        )
    }
    outcomes = []
    for agency in agencies:
        parent_code = parents.get(agency.parent_id or 0, system_id)
        try:
            await axis.register_agency(
                code=agency.code, parent_code=parent_code, name=agency.name, mail=agency.mail
            )
        except AxisRefusedError as exc:
            outcomes.append(Outcome(agency.code, agency.name, parent_code, exc.message_vi))
            continue
        outcomes.append(Outcome(agency.code, agency.name, parent_code))
        await audit.record(
            db,
            clock=clock,
            action="axis.agency_registered",
            actor_id=None,
            object_type="agency",
            object_id=agency.id,
            detail={"code": agency.code, "parent": parent_code, "system": system_id},
        )
    return outcomes
