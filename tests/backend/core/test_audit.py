from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core import audit, db
from backend.core.clock import FixedClock
from backend.core.models import AuditEntry

pytestmark = pytest.mark.anyio


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    e = db.create_engine(database_url)
    yield e
    await e.dispose()


async def write_entries(engine: AsyncEngine, count: int) -> None:
    clock = FixedClock(datetime(2026, 1, 1, 7, 30, tzinfo=UTC))
    async with db.sessionmaker(engine)() as s, s.begin():
        for i in range(count):
            clock.advance(timedelta(minutes=1))
            await audit.record(
                s,
                clock=clock,
                action="test.action",
                object_type="thing",
                object_id=i,
                detail={"n": i, "text": "Văn bản đến"},
                ip="10.0.0.1",
            )


async def test_entries_form_an_intact_chain(engine: AsyncEngine) -> None:
    await write_entries(engine, 5)
    async with db.sessionmaker(engine)() as s:
        report = await audit.verify_chain(s)
    assert report.intact and report.entries == 5


@pytest.mark.parametrize("statement", ["update", "delete"])
async def test_the_database_refuses_to_change_the_log(engine: AsyncEngine, statement: str) -> None:
    await write_entries(engine, 2)
    change = (
        update(AuditEntry).values(action="tampered")
        if statement == "update"
        else delete(AuditEntry)
    )
    with pytest.raises((DBAPIError, IntegrityError), match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(change)
    async with db.sessionmaker(engine)() as s:
        assert (await audit.verify_chain(s)).entries == 2


async def test_a_forged_row_breaks_the_chain(engine: AsyncEngine) -> None:
    await write_entries(engine, 3)
    async with engine.begin() as connection:
        # Appending is allowed; appending a row that does not chain is detectable.
        await connection.execute(
            insert(AuditEntry).values(
                at=datetime(2026, 1, 2, tzinfo=UTC),
                action="forged",
                object_type="",
                object_id="",
                detail={},
                ip="",
                prev_hash="0" * 64,
                hash=hashlib.sha256(b"x").hexdigest(),
            )
        )
    async with db.sessionmaker(engine)() as s:
        report = await audit.verify_chain(s)
    assert not report.intact
    assert report.first_bad_id is not None and report.entries == 4
