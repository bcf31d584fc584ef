"""The office chief (Chánh Văn phòng) routes what the clerk registered: assigns it directly, or
puts it before a leader (trình lãnh đạo), who finds it under "Chờ cho ý kiến" and assigns it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from backend.core.models import Role, User
from backend.demo import province
from backend.push.tables import PushOutbox
from backend.workflow.tables import Assignment, DirectionRequest, TimelineEvent
from tests.backend.identity.conftest import World, resources_of
from tests.backend.workflow.helpers import add_person, registered
from tests.backend.workflow.test_assignments import as_user, document, html, rows
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def test_office_chief_assigns_directly_and_sees_the_agency(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc = await registered(app, world.agency_id)
    await as_user(app, client, ids["office_chief"])
    # Agency-wide: the incoming list, the document, the register.
    listing = html(await client.get("/documents?inbox=cho-phan-cong"))
    assert f"/documents/{doc}" in str(listing)
    page = html(await client.get(f"/documents/{doc}"))
    assert page.select_one("#assign-form") is not None
    assert page.select_one("#forward-form") is not None
    assert (await client.get("/registers/incoming.pdf")).status_code == 200
    response = await client.post(
        f"/documents/{doc}/assign",
        data={"lead": f"d:{world.unit_id}", "deadline": "2026-03-06", "deadline_time": "10:00"},
    )
    assert response.status_code == 303, response.text
    [hop] = await rows(app, Assignment, Assignment.document_id == doc)
    assert (hop.unit_id, hop.assigned_by_id) == (world.unit_id, ids["office_chief"])
    assert (await document(app, doc)).status == "04"


async def test_put_before_a_leader_who_gives_direction_and_assigns(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc = await registered(app, world.agency_id, subject="Về việc phòng chống bão số 5", urgency=3)
    await as_user(app, client, ids["office_chief"])
    # Only to a leader of the agency.
    wrong = await client.post(f"/documents/{doc}/forward", data={"leader": ids["specialist"]})
    assert wrong.status_code == 422
    response = await client.post(
        f"/documents/{doc}/forward",
        data={"leader": ids["leader"], "note": "Đề xuất giao Phòng Kinh tế chủ trì."},
    )
    assert response.status_code == 303, response.text
    again = await client.post(f"/documents/{doc}/forward", data={"leader": ids["leader"]})
    assert again.status_code == 422  # already waiting
    [notice] = await rows(app, PushOutbox, PushOutbox.user_id == ids["leader"])
    assert notice.payload["title"] == "Văn bản Hỏa tốc: Về việc phòng chống bão số 5"
    assert (
        notice.payload["body"] == "Người office_chief trình, chờ lãnh đạo cho ý kiến và phân công."
    )
    assert notice.urgency == "high"
    # The office chief sees what waits, and no longer gets the forward form.
    own = html(await client.get("/direction"))
    assert f"/documents/{doc}" in str(own)
    page = html(await client.get(f"/documents/{doc}"))
    assert page.select_one("#forward-form") is None
    assert "chờ cho ý kiến" in page.select_one("#waiting").get_text()
    forwarded = page.select_one(".timeline__step--forwarded").get_text()
    assert "Người office_chief → Người leader" in " ".join(forwarded.split())

    # The leader: "Chờ cho ý kiến", then assigns; the request is answered.
    await as_user(app, client, ids["leader"])
    waiting = html(await client.get("/direction"))
    assert [a["href"] for a in waiting.select("#awaiting a")] == [f"/documents/{doc}"]
    assigned = await client.post(
        f"/documents/{doc}/assign", data={"lead": f"d:{world.unit_id}", "deadline": "2026-03-06"}
    )
    assert assigned.status_code == 303
    assert html(await client.get("/direction")).select("#awaiting a") == []
    [request] = await rows(app, DirectionRequest, DirectionRequest.document_id == doc)
    assert request.closed_at is not None
    events = await rows(app, TimelineEvent, TimelineEvent.document_id == doc)
    assert [(e.kind, e.actor_id) for e in events] == [
        ("forwarded", ids["office_chief"]),
        ("assigned", ids["leader"]),
    ]
    # Forwarding an assigned document is refused.
    await as_user(app, client, ids["office_chief"])
    late = await client.post(f"/documents/{doc}/forward", data={"leader": ids["leader"]})
    assert late.status_code == 422


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no SQL of its own
async def test_only_the_office_chief_forwards_and_only_routers_assign(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc = await registered(app, world.agency_id)
    await as_user(app, client, ids["leader"])
    assert (
        await client.post(f"/documents/{doc}/forward", data={"leader": ids["leader"]})
    ).status_code == 403
    # A unit head (who may hand down in their unit) may not route the agency's documents.
    head = await add_person(app, world.agency_id, world.unit_id, "truongphong2", Role.UNIT_HEAD)
    await as_user(app, client, head)
    assert (
        await client.post(f"/documents/{doc}/assign", data={"lead": f"u:{ids['specialist']}"})
    ).status_code in (403, 404)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no SQL of its own
async def test_the_demo_agency_has_an_office_chief(app: LifespanManager) -> None:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        await province.load(db, clock=res.clock)
    async with res.sessions() as db:
        chief = await db.scalar(select(User).where(User.username == "chanhvanphong"))
        assert chief is not None
        assert Role.OFFICE_CHIEF in chief.roles


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no SQL of its own
async def test_the_administrator_can_give_the_role(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await as_user(app, client, world.user_ids["admin"])
    page = html(await client.get("/admin/users"))
    box = page.select_one("input[name=roles][value=office_chief]")
    assert box is not None and "Chánh Văn phòng" in box.parent.get_text()
    created = await client.post(
        "/admin/users",
        data={
            "username": "cvp2",
            "full_name": "Đỗ Văn Chánh",
            "roles": ["office_chief", "unit_head"],
        },
    )
    assert created.status_code in (200, 303), created.text
    async with resources_of(app).sessions() as db:
        person = await db.scalar(select(User).where(User.username == "cvp2"))
        assert person is not None and person.roles == {Role.OFFICE_CHIEF, Role.UNIT_HEAD}
