"""Putting documents straight into the register, and more people, for workflow tests."""

from __future__ import annotations

from backend.core.models import Agency, Role, Unit
from backend.documents.catalogue import Status
from backend.documents.tables import Document
from backend.identity import users
from tests.backend.identity.conftest import resources_of
from tests.support.lifespan import LifespanManager


async def registered(
    app: LifespanManager,
    agency_id: int,
    *,
    subject: str = "Về việc triển khai Đề án 06",
    urgency: int = 0,
) -> int:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        document = Document(
            agency_id=agency_id,
            direction="incoming",
            type_code="CV",
            subject=subject,
            urgency=urgency,
            status=Status.REGISTERED.value,
            created_at=res.clock.now(),
            received_at=res.clock.now(),
            issuer_name="Sở Nội vụ",
            signature_check={},
        )
        db.add(document)
        await db.flush()
        return document.id


async def add_person(
    app: LifespanManager, agency_id: int, unit_id: int | None, name: str, role: Role
) -> int:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        agency = await db.get_one(Agency, agency_id)
        unit = await db.get(Unit, unit_id) if unit_id else None
        person = await users.create_user(
            db,
            clock=res.clock,
            agency=agency,
            username=name,
            full_name=name.title(),
            roles={role},
            unit=unit,
        )
        return person.id
