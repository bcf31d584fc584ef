"""Migration 0008: deadlines that were dates become 17:00 on that day in Hà Nội, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from backend import organisations
from backend.core import db, migrate
from backend.core.clock import FixedClock
from backend.core.models import Role
from backend.documents.tables import Document
from backend.identity import users
from backend.workflow.tables import Assignment

pytestmark = pytest.mark.anyio
CLOCK = FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))


async def test_date_deadlines_become_17_00_local(database_url: str) -> None:
    before = ScriptDirectory.from_config(migrate.alembic_config()).get_revision("0008")
    assert before is not None
    engine = db.create_engine(database_url)
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            agency = await organisations.create_agency(
                s, clock=CLOCK, code="000.00.01.H53", name="VP", short_name="VP"
            )
            leader = await users.create_user(
                s,
                clock=CLOCK,
                agency=agency,
                username="ld",
                full_name="Lãnh đạo",
                roles={Role.LEADER},
            )
            document = Document(
                agency_id=agency.id,
                direction="incoming",
                type_code="CV",
                subject="x",
                urgency=0,
                status="04",
                created_at=CLOCK.now(),
                signature_check={},
            )
            s.add(document)
            await s.flush()
            for deadline in (datetime(2026, 11, 27, 10, 0, tzinfo=UTC), None):
                s.add(
                    Assignment(
                        document_id=document.id,
                        part="lead",
                        user_id=leader.id,
                        assigned_by_id=leader.id,
                        deadline=deadline,
                        direction="",
                        state="active",
                        progress=0,
                        result="",
                        created_at=CLOCK.now(),
                    )
                )
        await migrate.downgrade(engine, str(before.down_revision))
        async with engine.connect() as connection:
            days = list(
                await connection.execute(text("SELECT deadline FROM assignments ORDER BY id"))
            )
        assert [str(d) for (d,) in days] == ["2026-11-27", "None"]
        await migrate.upgrade(engine)
        async with db.sessionmaker(engine)() as s:
            first, second = await s.scalars(select(Assignment).order_by(Assignment.id))
        assert first.deadline is not None and second.deadline is None
        moment = first.deadline if first.deadline.tzinfo else first.deadline.replace(tzinfo=UTC)
        assert moment == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 17:00 +07:00
    finally:
        await engine.dispose()
