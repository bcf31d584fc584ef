"""One column type for moments: read back aware UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from backend.core import db as db_mod
from backend.core.models import Agency

pytestmark = pytest.mark.anyio
VIETNAM = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        (datetime(2026, 12, 4, 8, 30, tzinfo=UTC), datetime(2026, 12, 4, 8, 30, tzinfo=UTC)),
        # 15:30 in Hà Nội is 08:30 UTC.
        (datetime(2026, 12, 4, 15, 30, tzinfo=VIETNAM), datetime(2026, 12, 4, 8, 30, tzinfo=UTC)),
        # A naive value is taken as UTC.
        (datetime(2026, 12, 4, 8, 30), datetime(2026, 12, 4, 8, 30, tzinfo=UTC)),
    ],
)
async def test_a_moment_comes_back_aware_in_utc(
    database_url: str, written: datetime, meant: datetime
) -> None:
    engine = db_mod.create_engine(database_url)
    try:
        async with db_mod.sessionmaker(engine)() as db, db.begin():
            db.add(
                Agency(
                    code="000.00.01.H95",
                    name="Cơ quan",
                    short_name="CQ",
                    level=1,
                    created_at=written,
                )
            )
        async with db_mod.sessionmaker(engine)() as db:
            found = await db.scalar(select(Agency.created_at).where(Agency.code == "000.00.01.H95"))
            # Compared in SQL with an aware bound value, too.
            later = await db.scalar(
                select(Agency.code).where(Agency.created_at > meant - timedelta(seconds=1))
            )
    finally:
        await engine.dispose()
    assert found == meant
    assert found is not None and found.tzinfo is not None and found.utcoffset() == timedelta(0)
    assert later == "000.00.01.H95"
