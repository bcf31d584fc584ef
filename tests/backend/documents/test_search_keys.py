"""PostgreSQL's word prefixes and access keys (migration 0019): kept right by the triggers, the
same documents as `document_scope`, and only ever a narrowing of what the scope shows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend import organisations
from backend.core import db
from backend.core.clock import FixedClock
from backend.core.models import Agency, Role, Unit, User
from backend.documents import queries
from backend.documents.search import search
from backend.documents.tables import Document
from backend.documents.textnorm import fold
from backend.identity import users
from backend.identity.policy import Principal
from backend.workflow.tables import Assignment, Part, State

pytestmark = [
    pytest.mark.anyio,
    # The columns, triggers and index are PostgreSQL's; SQLite searches its FTS5 table.
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


async def keys_of(s: AsyncSession, document_id: int) -> list[int]:
    row = await s.scalar(
        text("SELECT access_keys FROM documents WHERE id = :id"), {"id": document_id}
    )
    return list(row)


async def row_version(s: AsyncSession, document_id: int) -> str:
    version = await s.scalar(
        text("SELECT xmin::text FROM documents WHERE id = :id"), {"id": document_id}
    )
    return str(version)


class World:
    """One agency: two units, a unit head and two specialists of the first, documents held by
    a unit, given to a person, given to a unit, and given to nobody."""

    def __init__(self, clock: FixedClock, clerk: User) -> None:
        self.clock = clock
        self.clerk = clerk

    async def build(self, s: AsyncSession) -> None:
        agency = await s.get_one(Agency, self.clerk.agency_id)
        self.agency = agency
        self.tonghop = await organisations.create_unit(
            s, clock=self.clock, agency=agency, name="Phòng Tổng hợp", short_name="TH"
        )
        self.kinhte = await organisations.create_unit(
            s, clock=self.clock, agency=agency, name="Phòng Kinh tế", short_name="KT"
        )
        self.head = await self.user(s, "truongphong", "Lê Văn Hùng", Role.UNIT_HEAD, self.tonghop)
        self.lan = await self.user(
            s, "chuyenvien.lan", "Trần Thị Lan", Role.SPECIALIST, self.tonghop
        )
        self.minh = await self.user(s, "chuyenvien.minh", "Phạm Minh", Role.SPECIALIST, self.kinhte)
        self.held = await self.document(s, "Kế hoạch phòng chống thiên tai", 1, unit=self.tonghop)
        self.to_lan = await self.document(s, "Quyết định về ngân sách", 2)
        self.to_kinhte = await self.document(s, "Quyết định phê duyệt quy hoạch", 3)
        self.nobody = await self.document(s, "Quyết định khen thưởng", 4)
        await self.assign(s, self.to_lan, user=self.lan)
        await self.assign(s, self.to_kinhte, unit=self.kinhte)

    async def user(self, s: AsyncSession, name: str, full: str, role: Role, unit: Unit) -> User:
        return await users.create_user(
            s, clock=self.clock, agency=self.agency, username=name, full_name=full,
            roles={role}, unit=unit,
        )  # fmt: skip

    async def document(
        self, s: AsyncSession, subject: str, age: int, unit: Unit | None = None
    ) -> int:
        document = Document(
            agency_id=self.agency.id,
            direction="incoming",
            type_code="CV",
            subject=subject,
            symbol=f"{age}/UBND",
            status="03",
            unit_id=unit.id if unit else None,
            created_at=datetime(2026, 3, 1, tzinfo=UTC) - timedelta(days=age),
            search_text=fold(subject),
        )
        s.add(document)
        await s.flush()
        return document.id

    async def assign(
        self,
        s: AsyncSession,
        document_id: int,
        *,
        user: User | None = None,
        unit: Unit | None = None,
    ) -> Assignment:
        hop = Assignment(
            document_id=document_id,
            part=Part.LEAD,
            user_id=user.id if user else None,
            unit_id=unit.id if unit else None,
            assigned_by_id=self.clerk.id,
            state=State.ACTIVE,
            created_at=self.clock.now(),
        )
        s.add(hop)
        await s.flush()
        return hop

    def principal(self, user: User, role: Role) -> Principal:
        return Principal(
            user_id=user.id, agency_id=user.agency_id, unit_id=user.unit_id, roles=frozenset({role})
        )


@pytest.fixture
async def world(engine: AsyncEngine, clock: FixedClock, clerk: User) -> World:
    w = World(clock, clerk)
    async with db.sessionmaker(engine)() as s, s.begin():
        await w.build(s)
    return w


async def test_the_triggers_keep_each_documents_keys(engine: AsyncEngine, world: World) -> None:
    w = world
    async with db.sessionmaker(engine)() as s, s.begin():
        assert await keys_of(s, w.held) == [-w.tonghop.id]
        assert await keys_of(s, w.to_lan) == [w.lan.id]
        assert await keys_of(s, w.to_kinhte) == [-w.kinhte.id]
        assert await keys_of(s, w.nobody) == []
        # Handed on: a second hop to a person of another unit, then the document moves unit.
        hop = await w.assign(s, w.to_kinhte, user=w.minh)
        assert await keys_of(s, w.to_kinhte) == sorted([w.minh.id, -w.kinhte.id])
        await s.execute(
            update(Document).where(Document.id == w.to_kinhte).values(unit_id=w.tonghop.id)
        )
        assert await keys_of(s, w.to_kinhte) == sorted([w.minh.id, -w.kinhte.id, -w.tonghop.id])
        # Reassigned to someone else, then withdrawn.
        await s.execute(update(Assignment).where(Assignment.id == hop.id).values(user_id=w.lan.id))
        assert await keys_of(s, w.to_kinhte) == sorted([w.lan.id, -w.kinhte.id, -w.tonghop.id])
        await s.delete(hop)
        await s.flush()
        assert await keys_of(s, w.to_kinhte) == sorted([-w.kinhte.id, -w.tonghop.id])


async def test_progress_on_an_assignment_does_not_rewrite_its_document(
    engine: AsyncEngine, world: World
) -> None:
    """Progress reports are the most frequent write to assignments; the keys do not change, so
    the document row (and its index entries) must stay as it is."""
    w = world
    async with db.sessionmaker(engine)() as s, s.begin():
        before = await row_version(s, w.to_lan)
    async with db.sessionmaker(engine)() as s, s.begin():
        await s.execute(
            update(Assignment)
            .where(Assignment.document_id == w.to_lan)
            .values(progress=40, state=State.IN_PROGRESS)
        )
    async with db.sessionmaker(engine)() as s, s.begin():
        assert await row_version(s, w.to_lan) == before
        await s.execute(
            update(Assignment).where(Assignment.document_id == w.to_lan).values(user_id=w.minh.id)
        )
    async with db.sessionmaker(engine)() as s, s.begin():
        assert await row_version(s, w.to_lan) != before
        assert await keys_of(s, w.to_lan) == [w.minh.id]


async def test_the_keys_select_the_same_documents_as_the_scope(
    engine: AsyncEngine, world: World
) -> None:
    w = world
    people = [
        w.principal(w.clerk, Role.CLERK),
        w.principal(w.head, Role.UNIT_HEAD),
        w.principal(w.lan, Role.SPECIALIST),
        w.principal(w.minh, Role.SPECIALIST),
    ]
    async with db.sessionmaker(engine)() as s, s.begin():
        await w.assign(s, w.held, unit=w.kinhte)  # a document of one unit, shared with another
        for person in people:
            by_scope = set(
                await s.scalars(select(Document.id).where(queries.document_scope(person)))
            )
            keys = queries.access_keys(person)
            if keys is None:
                assert by_scope == {w.held, w.to_lan, w.to_kinhte, w.nobody}
                continue
            by_keys = set(
                await s.scalars(
                    text(
                        "SELECT id FROM documents WHERE agency_id = :agency "
                        "AND access_keys && CAST(:keys AS integer[])"
                    ),
                    {"agency": keys.agency_id, "keys": list(keys.keys)},
                )
            )
            assert by_keys == by_scope, person
    # The unit head sees their unit's documents; each specialist what was given to them.
    assert queries.access_keys(people[1]) == queries.AccessKeys(
        w.agency.id, (w.head.id, -w.tonghop.id)
    )


async def test_a_specialist_searches_what_was_given_to_them_by_word_beginnings(
    engine: AsyncEngine, world: World
) -> None:
    w = world

    async def found(person: Principal, query: str) -> list[int]:
        async with db.sessionmaker(engine)() as s, s.begin():
            result = await search(
                s,
                query=query,
                scope=queries.document_scope(person),
                keys=queries.access_keys(person),
                limit=10,
            )
        return [d.id for d in result.documents]

    lan = w.principal(w.lan, Role.SPECIALIST)
    minh = w.principal(w.minh, Role.SPECIALIST)
    clerk = w.principal(w.clerk, Role.CLERK)
    # "quy" begins quyết and quy (hoạch): an exact key of the prefixes column.
    assert await found(lan, "quy") == [w.to_lan]
    assert await found(lan, "quyet dinh ngan") == [w.to_lan]
    assert await found(minh, "quy") == []
    assert sorted(await found(clerk, "quy")) == sorted([w.to_lan, w.to_kinhte, w.nobody])
    assert await found(clerk, "quyet dinh quy hoa") == [w.to_kinhte]
    assert await found(clerk, "ng") == [w.to_lan]  # the shortest beginning kept: ngân
    # A one-letter or an over-long last word is a prefix match on the vector instead.
    assert sorted(await found(clerk, "quyet d")) == sorted([w.to_lan, w.to_kinhte, w.nobody])
    assert await found(clerk, "quyet " + "d" * 17) == []
    assert await found(clerk, "khong co") == []


async def test_a_wrong_key_can_hide_a_document_but_never_show_one(
    engine: AsyncEngine, world: World
) -> None:
    """The keys only narrow the search; the scope checks the page. Keys changed behind the
    triggers' back (no app path does this) must not let Lan see a document not given to her."""
    w = world
    lan = w.principal(w.lan, Role.SPECIALIST)
    async with db.sessionmaker(engine)() as s, s.begin():
        await s.execute(
            text("UPDATE documents SET access_keys = CAST(:keys AS integer[]) WHERE id = :id"),
            {"keys": [w.lan.id], "id": w.nobody},
        )
        await s.execute(
            text("UPDATE documents SET access_keys = '{}' WHERE id = :id"), {"id": w.to_lan}
        )
    async with db.sessionmaker(engine)() as s, s.begin():
        result = await search(
            s,
            query="quyet dinh",
            scope=queries.document_scope(lan),
            keys=queries.access_keys(lan),
            limit=10,
        )
    assert result.documents == []


async def test_two_people_given_one_document_at_once_both_keep_their_key(
    engine: AsyncEngine, world: World
) -> None:
    """Two transactions give one document to two people at once. The second one's trigger waits
    for the first's lock on the document row, then must count the first's assignment as well:
    computed from the snapshot taken before the wait, the first person's key was lost."""
    w = world
    sessions = db.sessionmaker(engine)
    async with sessions() as first, sessions() as second, sessions() as watcher:
        async with first.begin():
            await w.assign(first, w.nobody, user=w.lan)  # the document row is locked till commit
            second_pid = await second.scalar(text("SELECT pg_backend_pid()"))
            blocked = asyncio.create_task(assign_and_commit(second, w, w.nobody, w.minh))
            while not await watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE pid = :pid AND wait_event_type = 'Lock'"
                ),
                {"pid": second_pid},
            ):
                await watcher.rollback()  # a fresh snapshot of pg_stat_activity each time
                assert not blocked.done(), blocked
                await asyncio.sleep(0.01)
        await blocked
    async with sessions() as s, s.begin():
        assert await keys_of(s, w.nobody) == sorted([w.lan.id, w.minh.id])


async def assign_and_commit(s: AsyncSession, w: World, document_id: int, user: User) -> None:
    # In the transaction that read the backend's pid, so on the same connection.
    await w.assign(s, document_id, user=user)
    await s.commit()
