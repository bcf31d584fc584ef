from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import organisations
from backend.core import db
from backend.core.clock import FixedClock
from backend.core.models import Agency, Role, User
from backend.documents.queries import Cursor, Filters, document_scope, list_documents, ref
from backend.documents.tables import Document
from backend.identity.policy import Action, Principal, may

pytestmark = pytest.mark.anyio


async def seed(engine: AsyncEngine, clerk: User, count: int) -> tuple[int, int]:
    """`count` documents, alternating between two units, created an hour apart."""
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    async with db.sessionmaker(engine)() as s, s.begin():
        agency = await s.get(Agency, clerk.agency_id)
        assert agency is not None
        kt = await organisations.create_unit(
            s, clock=clock, agency=agency, name="KT", short_name="KT"
        )
        nc = await organisations.create_unit(
            s, clock=clock, agency=agency, name="NC", short_name="NC"
        )
        for index in range(count):
            s.add(
                Document(
                    agency_id=clerk.agency_id,
                    direction="incoming",
                    type_code="CV",
                    subject=f"Văn bản {index}",
                    status="03" if index % 3 else "04",
                    urgency=index % 5,
                    unit_id=(kt.id, nc.id)[index % 2],
                    created_at=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=index),
                )
            )
        return kt.id, nc.id


async def test_keyset_pages_cover_everything_once_newest_first(
    engine: AsyncEngine, clerk: User
) -> None:
    await seed(engine, clerk, 23)
    principal = Principal(clerk.id, clerk.agency_id, None, frozenset({Role.CLERK}))
    seen: list[str] = []
    cursor: Cursor | None = None
    async with db.sessionmaker(engine)() as s:
        for _ in range(5):
            page = await list_documents(
                s, principal=principal, filters=Filters(), after=cursor, limit=10
            )
            seen.extend(d.subject for d in page.items)
            if page.next_cursor is None:
                break
            cursor = Cursor.decode(page.next_cursor)
    assert seen == [f"Văn bản {i}" for i in reversed(range(23))]
    assert Cursor.decode("not-a-cursor!!") is None


async def test_filters(engine: AsyncEngine, clerk: User) -> None:
    await seed(engine, clerk, 30)
    principal = Principal(clerk.id, clerk.agency_id, None, frozenset({Role.LEADER}))
    async with db.sessionmaker(engine)() as s:

        async def count(filters: Filters) -> int:
            return len(
                (await list_documents(s, principal=principal, filters=filters, limit=100)).items
            )

        assert await count(Filters(statuses=("04",))) == 10
        assert await count(Filters(urgency=3)) == 6
        # Hours 0–16 UTC of 1 March are 1 March in Hà Nội; 17:00 UTC is already 2 March there.
        assert await count(Filters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 1))) == 17
        assert await count(Filters(direction="outgoing")) == 0


async def test_sql_scope_agrees_with_the_policy(engine: AsyncEngine, clerk: User) -> None:
    kt, nc = await seed(engine, clerk, 6)
    principals = [
        Principal(1, clerk.agency_id, unit, frozenset(roles))
        for unit, roles in itertools.product(
            (None, kt, nc),
            ({Role.LEADER}, {Role.CLERK}, {Role.UNIT_HEAD}, {Role.SPECIALIST}, {Role.ADMIN}),
        )
    ] + [Principal(1, clerk.agency_id + 1, kt, frozenset({Role.LEADER}))]
    async with db.sessionmaker(engine)() as s:
        everything = list(await s.scalars(select(Document)))
        assert len(everything) == 6
        for principal in principals:
            visible = set(await s.scalars(select(Document.id).where(document_scope(principal))))
            allowed = [d.id for d in everything if may(principal, Action.VIEW_DOCUMENT, ref(d))]
            expected = set(allowed)
            assert visible == expected, principal
