from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend import organisations
from backend.core import db
from backend.core.blobs import FileBlobStore
from backend.core.clock import FixedClock
from backend.core.models import Role, User
from backend.documents.workers import PdfWorkers
from backend.identity import users


@pytest.fixture(scope="session")
def pdf_workers() -> Iterator[PdfWorkers]:
    workers = PdfWorkers(2)
    yield workers
    workers.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))  # 08:30 in Hà Nội


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    e = db.create_engine(database_url)
    yield e
    await e.dispose()


@pytest.fixture
async def clerk(engine: AsyncEngine, clock: FixedClock) -> User:
    async with db.sessionmaker(engine)() as s, s.begin():
        agency = await organisations.create_agency(
            s,
            clock=clock,
            code="000.00.01.H53",
            name="Văn phòng UBND tỉnh Tây Ninh",
            short_name="VP",
        )
        return await users.create_user(
            s,
            clock=clock,
            agency=agency,
            username="vanthu",
            full_name="Đặng Quốc Huy",
            roles={Role.CLERK},
        )


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with db.sessionmaker(engine)() as s:
        yield s
