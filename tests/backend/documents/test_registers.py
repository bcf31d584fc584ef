from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import organisations
from backend.core import db
from backend.core.clock import FixedClock
from backend.documents.registers import INCOMING_SERIES, register_year, take_number

pytestmark = pytest.mark.anyio


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    e = db.create_engine(database_url)
    yield e
    await e.dispose()


async def make_agency(engine: AsyncEngine) -> int:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    async with db.sessionmaker(engine)() as s, s.begin():
        agency = await organisations.create_agency(
            s, clock=clock, code="000.00.01.H53", name="Văn phòng UBND tỉnh", short_name="VP"
        )
        return agency.id


async def test_hundred_concurrent_takers_get_one_to_hundred(engine: AsyncEngine) -> None:
    agency_id = await make_agency(engine)
    sessions = db.sessionmaker(engine)

    async def register_one() -> int:
        async with sessions() as s, s.begin():
            number = await take_number(
                s, agency_id=agency_id, direction="incoming", year=2026, series=INCOMING_SERIES
            )
            await asyncio.sleep(0)  # let others interleave while the transaction is open
            return number

    numbers = await asyncio.gather(*(register_one() for _ in range(100)))
    assert sorted(numbers) == list(range(1, 101))


async def test_a_rolled_back_registration_leaves_no_gap(engine: AsyncEngine) -> None:
    agency_id = await make_agency(engine)
    sessions = db.sessionmaker(engine)
    args = {"agency_id": agency_id, "direction": "incoming", "year": 2026, "series": "den"}
    async with sessions() as s, s.begin():
        assert await take_number(s, **args) == 1
    with pytest.raises(RuntimeError):
        async with sessions() as s, s.begin():
            assert await take_number(s, **args) == 2
            raise RuntimeError("the upload failed after numbering")
    async with sessions() as s, s.begin():
        assert await take_number(s, **args) == 2


async def test_series_and_years_are_independent(engine: AsyncEngine) -> None:
    agency_id = await make_agency(engine)
    async with db.sessionmaker(engine)() as s, s.begin():
        take = take_number
        assert (
            await take(s, agency_id=agency_id, direction="outgoing", year=2026, series="hanh-chinh")
            == 1
        )
        assert (
            await take(
                s, agency_id=agency_id, direction="outgoing", year=2026, series="qppl-QPPL-QD"
            )
            == 1
        )
        assert (
            await take(s, agency_id=agency_id, direction="outgoing", year=2026, series="hanh-chinh")
            == 2
        )
        assert (
            await take(s, agency_id=agency_id, direction="incoming", year=2026, series="den") == 1
        )
        assert (
            await take(s, agency_id=agency_id, direction="outgoing", year=2027, series="hanh-chinh")
            == 1
        )


def test_the_register_year_turns_at_midnight_vietnam_time() -> None:
    # 31 Dec 2026 16:59 UTC is 23:59 in Hà Nội; one minute later it is 2027 there.
    assert register_year(datetime(2026, 12, 31, 16, 59, tzinfo=UTC)) == 2026
    assert register_year(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == 2027
