"""The dashboard's numbers against a fixture computed by hand, through the pages a leader and a
unit head open, the drill-down behind a number, the SVG charts and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backend import organisations
from backend.core.clock import FixedClock
from backend.core.models import Agency, Role, User
from backend.documents.tables import Document
from backend.workflow import assignments
from backend.workflow.assignments import Actor, Party, Plan
from backend.workflow.dashboard import percentile
from backend.workflow.tables import Assignment
from tests.backend.identity.conftest import World, resources_of, sign_in_as
from tests.backend.workflow.helpers import add_person, registered
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026, Hà Nội time, as UTC."""
    return datetime(2026, 3, day, hour - 7, minute, tzinfo=UTC)


async def build(app: LifespanManager, world: World, clock: FixedClock) -> dict[str, int]:
    res = resources_of(app)
    ids = world.user_ids
    async with res.sessions() as db, db.begin():
        agency = await db.get_one(Agency, world.agency_id)
        nc = await organisations.create_unit(
            db, clock=clock, agency=agency, name="Phòng Nội chính", short_name="NC"
        )
        nc_id = nc.id
    other = await add_person(app, world.agency_id, nc_id, "chuyenviennc", Role.SPECIALIST)
    docs = {n: await registered(app, world.agency_id, subject=f"Văn bản d{n}") for n in range(1, 6)}

    async def act(user_id: int, work: object) -> None:
        async with res.sessions() as db, db.begin():
            user = await db.get_one(User, user_id)
            await work(db, Actor(user))  # type: ignore[operator]

    async def assign(doc: int, party: Party, deadline: date) -> None:
        async def work(db: object, actor: Actor) -> None:
            document = await db.get_one(Document, doc)  # type: ignore[attr-defined]
            await assignments.assign(
                db,
                clock=clock,
                actor=actor,
                document=document,  # type: ignore[arg-type]
                plan=Plan(lead=party, deadline=deadline),
            )

        await act(ids["leader"], work)

    async def hop(doc: int, user_id: int) -> Assignment:
        async with res.sessions() as db:
            found = await db.scalars(
                select(Assignment).where(
                    Assignment.document_id == doc, Assignment.user_id == user_id
                )
            )
            return list(found)[-1]

    async def complete(doc: int, user_id: int, at: datetime) -> None:
        clock.set(at)
        target = await hop(doc, user_id)

        async def work(db: object, actor: Actor) -> None:
            row = await db.get_one(Assignment, target.id)  # type: ignore[attr-defined]
            await assignments.complete(
                db,
                clock=clock,
                actor=actor,
                assignment=row,  # type: ignore[arg-type]
                result="Xong",
            )

        await act(user_id, work)

    clock.set(vn(2, 8, 30))
    specialist = ids["specialist"]
    await assign(docs[1], Party(user_id=specialist), date(2026, 3, 4))
    await assign(docs[2], Party(user_id=specialist), date(2026, 3, 3))
    await assign(docs[3], Party(user_id=other), date(2026, 3, 4))
    await assign(docs[4], Party(unit_id=world.unit_id), date(2026, 3, 20))
    async with res.sessions() as db, db.begin():
        head = await db.get_one(User, ids["unit_head"])
        top = [
            h
            for h in await db.scalars(
                Assignment.__table__.select().where(Assignment.document_id == docs[4])
            )
        ]  # type: ignore[attr-defined]
        parent = await db.get_one(Assignment, top[0])
        await assignments.reassign(
            db,
            clock=clock,
            actor=Actor(head),
            parent=parent,
            plan=Plan(lead=Party(user_id=specialist), deadline=date(2026, 3, 6)),
        )
    await complete(docs[1], specialist, vn(3, 8, 30))  # 1.00 day, on time
    await complete(docs[2], specialist, vn(5, 8, 30))  # 3.00 days, late (due 3 March)
    await complete(docs[4], specialist, vn(6, 14, 30))  # 4.25 days, on time
    clock.set(vn(10, 9))  # today: Tuesday 10 March; d3 (due 4 March) is overdue, d5 unassigned
    return {"other": other, "nc": nc_id, **{f"d{n}": d for n, d in docs.items()}}


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([4.25, 1.0, 3.0], 50) == 3.0
    assert percentile([4.25, 1.0, 3.0], 90) == 4.25
    assert percentile(list(map(float, range(1, 11))), 90) == 9.0


async def test_dashboard_numbers_match_the_hand_computed_fixture(
    app: LifespanManager, client: httpx.AsyncClient, world: World, clock: FixedClock
) -> None:
    made = await build(app, world, clock)
    await sign_in_as(app, client, world.user_ids["leader"])
    page = BeautifulSoup((await client.get("/dashboard?year=2026")).text, "html.parser")
    assert page.select_one("#on-time-rate").get_text(strip=True) == "67%"  # 2 of 3
    assert page.select_one("#median-days").get_text(strip=True) == "3.0"
    assert page.select_one("#p90-days").get_text(strip=True) == "4.2"  # 4.25 days
    # Status chart: one bar per status with its number and a link to the list behind it.
    bars = {
        a["href"].rsplit("=", 1)[1]: a.select_one("text.chart__value").get_text()
        for a in page.select("svg.chart a")
    }
    assert bars == {"03": "1", "04": "1", "05": "0", "06": "3", "02": "0"}
    units = [
        [td.get_text(strip=True) for td in tr.select("td")]
        for tr in page.select("#overdue-units tbody tr")
    ]
    assert units == [["Phòng Nội chính", "1"]]
    people = [
        [td.get_text(strip=True) for td in tr.select("td")]
        for tr in page.select("#overdue-people tbody tr")
    ]
    assert people == [["Chuyenviennc", "1"]]
    evaluation = {
        tr.select("td")[0].get_text(): [td.get_text(strip=True) for td in tr.select("td")]
        for tr in page.select("#evaluation tbody tr")
    }
    assert evaluation["Người specialist"][2:] == ["3", "3", "2", "0", "67%"]
    assert evaluation["Chuyenviennc"][2:] == ["1", "0", "0", "1", "—"]

    # Drill down: the documents behind "completed" and behind one person's overdue count.
    done = BeautifulSoup(
        (await client.get("/dashboard/list?year=2026&metric=status&key=06")).text, "html.parser"
    )
    assert sorted(a.get_text() for a in done.select("#drill a")) == [
        "Văn bản d1",
        "Văn bản d2",
        "Văn bản d4",
    ]
    late = BeautifulSoup(
        (
            await client.get(f"/dashboard/list?year=2026&metric=overdue-person&key={made['other']}")
        ).text,
        "html.parser",
    )
    assert [a["href"] for a in late.select("#drill a")] == [f"/documents/{made['d3']}"]

    exported = await client.get("/dashboard.csv?year=2026")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][0] == "Họ và tên"
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["Người specialist"][2:] == ["3", "3", "2", "1", "0", "66.7", "3.0"]

    # A unit head sees only their unit's documents.
    client.cookies.clear()
    await sign_in_as(app, client, world.user_ids["unit_head"])
    unit_page = BeautifulSoup((await client.get("/dashboard?year=2026")).text, "html.parser")
    unit_bars = {
        a["href"].rsplit("=", 1)[1]: a.select_one("text.chart__value").get_text()
        for a in unit_page.select("svg.chart a")
    }
    assert unit_bars == {"03": "0", "04": "0", "05": "0", "06": "3", "02": "0"}
    assert (
        unit_page.select_one("#overdue-units tbody td").get_text(strip=True)
        == "Không có việc quá hạn."
    )
