"""What the commands share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import db
from backend.core.settings import Settings

T = TypeVar("T")


async def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = db.create_engine(settings.effective_database_url)
    try:
        async with db.sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()
