"""The leader's province-down view: documents sent over the axis per recipient agency, counted
from a handful of deliveries computed by hand, each figure linking to the "Văn bản đã gửi" list
that shows exactly those rows; refused to those who do not see the whole agency."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backend import organisations
from backend.core.clock import FixedClock
from backend.core.models import Agency
from backend.documents.catalogue import Direction, Status
from backend.documents.tables import Document
from backend.interchange import tracking
from backend.interchange.tables import AxisDelivery, AxisDispatch, DeliveryState
from tests.backend.identity.conftest import World, resources_of, sign_in_as
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio

SUB, OTHER, CENTRAL = "000.00.12.H53", "000.00.11.H53", "000.00.00.G12"


def vn(month: int, day: int, hour: int) -> datetime:
    """2026, Hà Nội time, as UTC."""
    return datetime(2026, month, day, hour - 7, tzinfo=UTC)


async def build(app: LifespanManager, world: World, clock: FixedClock) -> None:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        ours = await db.get_one(Agency, world.agency_id)
        await organisations.create_agency(
            db, clock=clock, code=SUB, name="Sở Xây dựng", short_name="SXD", parent=ours
        )

        async def document(number: int, deadline: date | None, at: datetime) -> Document:
            row = Document(
                agency_id=ours.id,
                direction=Direction.OUTGOING,
                type_code="CV",
                number=number,
                symbol="VP-KT",
                issue_date=at.date(),
                subject=f"Văn bản đi số {number}",
                deadline=deadline,
                status=Status.ISSUED,
                created_at=at,
                signature_check={},
            )
            db.add(row)
            await db.flush()
            return row

        async def dispatch(doc: Document, at: datetime, business_type: int = 0) -> int:
            row = AxisDispatch(
                document_id=doc.id,
                agency_id=ours.id,
                business_type=business_type,
                document_key=f"{ours.code},2026/03/02,{doc.number}/VP-KT",
                created_at=at,
            )
            db.add(row)
            await db.flush()
            return row.id

        def deliver(doc: Document, sent: int, to: str, at: datetime, **state: object) -> None:
            fields: dict[str, object] = {"state": DeliveryState.SENT, "sent_at": at} | state
            db.add(
                AxisDelivery(
                    dispatch_id=sent,
                    document_id=doc.id,
                    recipient_code=to,
                    recipient_name="Bộ Tài chính" if to == CENTRAL else f"Cơ quan {to}",
                    created_at=at,
                    updated_at=at,
                    **fields,
                )
            )

        start = vn(3, 2, 9)
        due_later = await document(1, date(2026, 3, 20), start)
        due_past = await document(2, date(2026, 3, 5), start)
        no_deadline = await document(3, None, start)
        last_year = await document(4, date(2025, 12, 1), datetime(2025, 11, 3, 2, tzinfo=UTC))
        d1, d2, d3 = [await dispatch(d, start) for d in (due_later, due_past, no_deadline)]
        # The subordinate agency: done on time; overdue at 04; nothing back after two days.
        deliver(due_later, d1, SUB, start, status_code="06", status_at=vn(3, 8, 10))
        deliver(due_past, d2, SUB, start, status_code="04", status_at=vn(3, 3, 10))
        deliver(no_deadline, d3, SUB, vn(3, 8, 9))
        # Another agency: returned (02); done after the deadline; sent an hour ago.
        deliver(due_later, d1, OTHER, start, status_code="02", status_at=vn(3, 3, 10))
        deliver(due_past, d2, OTHER, start, status_code="06", status_at=vn(3, 7, 10))
        deliver(no_deadline, d3, OTHER, vn(3, 10, 8))
        # Not in our directory: recalled before it left (withdrawn), never sent; done at 16:00
        # of the deadline's day (on time), and at 18:00 (late: the deadline is 17:00).
        deliver(due_past, d2, CENTRAL, start, state=DeliveryState.WITHDRAWN, sent_at=None)
        for number, hour in ((5, 16), (6, 18)):
            due_sixth = await document(number, date(2026, 3, 6), start)
            sent = await dispatch(due_sixth, start)
            deliver(due_sixth, sent, CENTRAL, start, status_code="06", status_at=vn(3, 6, hour))
        # Outside the figures: last year's document, and an update packet's own delivery (the
        # recipient's row is the first one, `about`).
        deliver(
            last_year, await dispatch(last_year, last_year.created_at), SUB, last_year.created_at
        )
        update = await dispatch(due_later, vn(3, 9, 9), business_type=2)
        first = await db.scalar(
            select(AxisDelivery.id).where(
                AxisDelivery.dispatch_id == d1, AxisDelivery.recipient_code == SUB
            )
        )
        deliver(due_later, update, SUB, vn(3, 9, 9), about_id=first)
    clock.set(vn(3, 10, 9))  # Tuesday 10 March 2026, 09:00


async def test_the_province_down_view_counts_per_recipient_and_links_to_its_rows(
    app: LifespanManager, client: httpx.AsyncClient, world: World, clock: FixedClock
) -> None:
    await build(app, world, clock)
    res = resources_of(app)
    async with res.sessions() as db:
        figures = await tracking.by_recipient(
            db,
            agency_id=world.agency_id,
            now=clock.now(),
            start=date(2026, 1, 1),
            end=date(2026, 12, 31),
        )
    assert [(f.code, f.subordinate, f.sent, f.on_time, f.overdue, f.done, f.late_receipt)
            for f in figures] == [
        (SUB, True, 3, 2, 1, 1, 1),
        (CENTRAL, False, 3, 1, 0, 2, 0),
        (OTHER, False, 3, 1, 0, 1, 0),
    ]  # fmt: skip
    assert [f.name for f in figures] == [
        "Sở Xây dựng",
        "Bộ Tài chính",
        "Sở Tài chính tỉnh Tây Ninh",
    ]

    await sign_in_as(app, client, world.user_ids["leader"])
    page = BeautifulSoup((await client.get("/dashboard?year=2026")).text, "html.parser")
    table = page.select_one("#axis-recipients")
    assert table is not None
    rows = table.select("tbody tr")
    assert [r["data-recipient"] for r in rows] == [SUB, CENTRAL, OTHER]
    assert rows[0].has_attr("data-subordinate") and not rows[2].has_attr("data-subordinate")
    assert "cơ quan cấp dưới" in rows[0].text
    # Every figure links to the list of exactly its deliveries.
    links = 0
    for row in rows:
        for cell in row.select("td[data-count]"):
            link = cell.select_one("a")
            if link is None:
                assert cell.text.strip() == "0"
                continue
            listing = BeautifulSoup((await client.get(str(link["href"]))).text, "html.parser")
            shown = listing.select(".tracktable tbody tr")
            assert len(shown) == int(link.text), (link["href"], len(shown))
            links += 1
    assert links == 11
    # The period is the dashboard's: nothing in 2025's view but last year's document.
    page = BeautifulSoup((await client.get("/dashboard?year=2025")).text, "html.parser")
    rows = page.select("#axis-recipients tbody tr")
    assert [
        (r["data-recipient"], r.select_one("td[data-count=sent]").text.strip()) for r in rows
    ] == [(SUB, "1")]


async def test_the_view_is_for_those_who_see_the_whole_agency(
    app: LifespanManager, client: httpx.AsyncClient, world: World, clock: FixedClock
) -> None:
    await build(app, world, clock)
    await sign_in_as(app, client, world.user_ids["specialist"])
    assert (await client.get("/dashboard")).status_code == 403
    client.cookies.clear()
    await sign_in_as(app, client, world.user_ids["unit_head"])
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert BeautifulSoup(page.text, "html.parser").select_one("#axis-sent") is None
