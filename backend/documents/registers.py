"""Registers (sổ đăng ký văn bản): gap-free yearly numbers, atomic on SQLite and PostgreSQL.

A number is taken by incrementing a counter row inside the caller's transaction: if the
registration fails and rolls back, so does the number, so the register has no gaps. PostgreSQL
serialises takers on the counter row's lock; SQLite on its single writer (the increment is the
transaction's first write, so the busy timeout queues concurrent clerks instead of failing).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.clock import VIETNAM
from backend.documents.tables import RegisterCounter

INCOMING_SERIES = "den"


def register_year(at: datetime) -> int:
    """Registers restart on 1 January, Vietnam time."""
    return at.astimezone(VIETNAM).year


async def take_number(
    db: AsyncSession, *, agency_id: int, direction: str, year: int, series: str
) -> int:
    """The next number of a register series, 1 on the first call of a year."""
    key = {"agency_id": agency_id, "direction": direction, "year": year, "series": series}
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    await db.execute(insert(RegisterCounter).values(**key, value=0).on_conflict_do_nothing())
    number: int | None = await db.scalar(
        update(RegisterCounter)
        .where(*(getattr(RegisterCounter, column) == value for column, value in key.items()))
        .values(value=RegisterCounter.value + 1)
        .returning(RegisterCounter.value)
    )
    assert number is not None
    return number
