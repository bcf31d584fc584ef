"""Routing an incoming document through the pages, as the people who do it: a leader assigns,
the unit head hands down, the specialist reports and completes; returns; the timeline; scope."""

from __future__ import annotations

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backend.core.models import Role
from backend.documents.tables import Document
from backend.push.tables import PushOutbox
from backend.workflow import deadlines
from backend.workflow.tables import Assignment, TimelineEvent
from tests.backend.identity.conftest import World, resources_of, sign_in_as
from tests.backend.workflow.helpers import add_person, registered
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


def html(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


async def as_user(app: LifespanManager, client: httpx.AsyncClient, user_id: int) -> None:
    client.cookies.clear()
    await sign_in_as(app, client, user_id)


async def rows(app: LifespanManager, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async with resources_of(app).sessions() as db:
        return list(await db.scalars(select(model).where(*where).order_by(model.id)))  # type: ignore[attr-defined]


async def document(app: LifespanManager, document_id: int) -> Document:
    async with resources_of(app).sessions() as db:
        return await db.get_one(Document, document_id)


async def test_assign_hand_down_report_complete_with_timeline(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc = await registered(app, world.agency_id, urgency=3)
    # A specialist it was not given to cannot even learn that it exists.
    await as_user(app, client, ids["specialist"])
    assert (await client.get(f"/documents/{doc}")).status_code == 404

    await as_user(app, client, ids["leader"])
    page = html(await client.get(f"/documents/{doc}"))
    lead_options = [o["value"] for o in page.select("#assign-form select[name=lead] option")]
    assert f"d:{world.unit_id}" in lead_options
    response = await client.post(
        f"/documents/{doc}/assign",
        data={
            "lead": f"d:{world.unit_id}",
            "cooperate": [f"u:{ids['clerk']}"],
            "inform": [f"u:{ids['admin']}"],
            "deadline": "2026-03-06",
            "direction": "Phòng Kinh tế chủ trì, tham mưu văn bản trả lời trước 06/3.",
        },
    )
    assert response.status_code == 303, response.text
    assert (await document(app, doc)).status == "04"
    hops = await rows(app, Assignment, Assignment.document_id == doc)
    assert [(h.part, h.unit_id, h.user_id) for h in hops] == [
        ("lead", world.unit_id, None),
        ("cooperate", None, ids["clerk"]),
        ("inform", None, ids["admin"]),
    ]
    # The unit's head, the co-operator and the informed person are each told, in Vietnamese.
    notices = await rows(app, PushOutbox)
    assert sorted(n.user_id for n in notices) == sorted(
        [ids["unit_head"], ids["clerk"], ids["admin"]]
    )
    lead_notice = next(n for n in notices if n.user_id == ids["unit_head"])
    assert lead_notice.payload["title"] == "Văn bản Hỏa tốc: Về việc triển khai Đề án 06"
    # A date alone means the end of that working day, 17:00 in Hà Nội.
    assert lead_notice.payload["body"] == "Chủ trì — hạn xử lý 17:00 06/03/2026"
    assert (lead_notice.urgency, lead_notice.ttl, lead_notice.topic) == ("high", 3600, f"doc{doc}")

    # The unit head hands down to a specialist of the unit, never later than the parent's deadline.
    await as_user(app, client, ids["unit_head"])
    page = html(await client.get(f"/documents/{doc}"))
    assert page.select_one(f"form[action='/assignments/{hops[0].id}/reassign']") is not None
    late = await client.post(
        f"/assignments/{hops[0].id}/reassign",
        data={"lead": f"u:{ids['specialist']}", "deadline": "2026-03-09"},
    )
    assert late.status_code == 422
    assert "không được muộn hơn hạn của cấp trên (17:00 06/03/2026)" in late.text
    outsider = await add_person(app, world.agency_id, None, "chuyenvienkhac", Role.SPECIALIST)
    elsewhere = await client.post(
        f"/assignments/{hops[0].id}/reassign",
        data={"lead": f"u:{outsider}", "deadline": "2026-03-05"},
    )
    assert elsewhere.status_code == 422
    ok = await client.post(
        f"/assignments/{hops[0].id}/reassign",
        data={"lead": f"u:{ids['specialist']}", "deadline": "2026-03-05"},
    )
    assert ok.status_code == 303
    child = (await rows(app, Assignment, Assignment.parent_id == hops[0].id))[0]
    assert child.deadline is not None
    assert (child.user_id, deadlines.label(child.deadline)) == (
        ids["specialist"],
        "17:00 05/03/2026",
    )

    # The specialist now sees it in "my work", reports progress, then completes.
    await as_user(app, client, ids["specialist"])
    mine = html(await client.get("/documents?inbox=viec-cua-toi"))
    assert f"/documents/{doc}" in str(mine)
    assert (
        await client.post(f"/assignments/{child.id}/progress", data={"note": "", "percent": ""})
    ).status_code == 422
    assert (
        await client.post(
            f"/assignments/{child.id}/progress",
            data={"note": "Đã làm việc với Sở TT&TT", "percent": "60"},
        )
    ).status_code == 303
    assert (await document(app, doc)).status == "05"
    assert (
        await client.post(f"/assignments/{child.id}/complete", data={"result": ""})
    ).status_code == 422
    assert (
        await client.post(
            f"/assignments/{child.id}/complete",
            data={"result": "Đã trình văn bản trả lời số 45/UBND-KT"},
        )
    ).status_code == 303
    assert (await document(app, doc)).status == "06"
    states = {h.id: h.state for h in await rows(app, Assignment, Assignment.document_id == doc)}
    assert states[hops[0].id] == states[child.id] == "completed"

    # The timeline shows every step: who, what, from which device.
    events = await rows(app, TimelineEvent, TimelineEvent.document_id == doc)
    assert [e.kind for e in events] == ["assigned", "reassigned", "progress", "completed"]
    assert {e.device for e in events} == {"iPad · Safari"}
    assert [e.actor_id for e in events] == [
        ids["leader"],
        ids["unit_head"],
        ids["specialist"],
        ids["specialist"],
    ]
    await as_user(app, client, ids["leader"])
    steps = html(await client.get(f"/documents/{doc}")).select(".timeline__step")
    assert len(steps) == 4
    assert "60%" in steps[2].get_text()
    assert "Người specialist" in steps[3].get_text()


async def test_exactly_one_lead_and_a_deadline_not_in_the_past(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc = await registered(app, world.agency_id)
    await as_user(app, client, ids["leader"])
    no_lead = await client.post(f"/documents/{doc}/assign", data={"deadline": "2026-03-06"})
    assert no_lead.status_code == 422
    past = await client.post(
        f"/documents/{doc}/assign",
        data={"lead": f"u:{ids['specialist']}", "deadline": "2026-02-27"},
    )
    assert past.status_code == 422
    twice = await client.post(
        f"/documents/{doc}/assign",
        data={
            "lead": f"u:{ids['specialist']}",
            "cooperate": [f"u:{ids['specialist']}"],
            "deadline": "2026-03-06",
        },
    )
    assert twice.status_code == 422
    first = await client.post(
        f"/documents/{doc}/assign",
        data={"lead": f"u:{ids['specialist']}", "deadline": "2026-03-06"},
    )
    assert first.status_code == 303
    second = await client.post(
        f"/documents/{doc}/assign", data={"lead": f"d:{world.unit_id}", "deadline": "2026-03-06"}
    )
    assert second.status_code == 422
    leads = await rows(app, Assignment, Assignment.document_id == doc, Assignment.part == "lead")
    assert len(leads) == 1
    # Only a leader routes: a unit head may not, even for a document in their unit.
    await as_user(app, client, ids["unit_head"])
    other = await registered(app, world.agency_id)
    assert (
        await client.post(f"/documents/{other}/assign", data={"lead": f"u:{ids['specialist']}"})
    ).status_code in (403, 404)


async def test_return_needs_a_reason_and_goes_back_up(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc = await registered(app, world.agency_id)
    await as_user(app, client, ids["leader"])
    await client.post(
        f"/documents/{doc}/assign", data={"lead": f"d:{world.unit_id}", "deadline": "2026-03-06"}
    )
    top = (await rows(app, Assignment, Assignment.document_id == doc))[0]
    await as_user(app, client, ids["unit_head"])
    await client.post(
        f"/assignments/{top.id}/reassign",
        data={"lead": f"u:{ids['specialist']}", "deadline": "2026-03-06"},
    )
    child = (await rows(app, Assignment, Assignment.parent_id == top.id))[0]

    await as_user(app, client, ids["specialist"])
    assert (
        await client.post(f"/assignments/{child.id}/return", data={"reason": ""})
    ).status_code == 422
    back = await client.post(
        f"/assignments/{child.id}/return", data={"reason": "Không thuộc lĩnh vực được phân công"}
    )
    assert back.status_code == 303
    top_again = (await rows(app, Assignment, Assignment.id == top.id))[0]
    assert top_again.state == "active"  # the unit head has it again
    told = await rows(app, PushOutbox, PushOutbox.user_id == ids["unit_head"])
    assert told[-1].payload["title"].startswith("Bị trả lại:")
    assert told[-1].payload["body"] == "Lý do: Không thuộc lĩnh vực được phân công"

    # The unit head returns it to the leader: the document is 02 and can be routed again.
    await as_user(app, client, ids["unit_head"])
    assert (
        await client.post(
            f"/assignments/{top.id}/return", data={"reason": "Đề nghị giao Phòng Tổng hợp"}
        )
    ).status_code == 303
    assert (await document(app, doc)).status == "02"
    events = await rows(app, TimelineEvent, TimelineEvent.document_id == doc)
    assert [(e.kind, e.note) for e in events][-2:] == [
        ("returned", "Không thuộc lĩnh vực được phân công"),
        ("returned", "Đề nghị giao Phòng Tổng hợp"),
    ]
    await as_user(app, client, ids["leader"])
    again = await client.post(
        f"/documents/{doc}/assign",
        data={"lead": f"u:{ids['specialist']}", "deadline": "2026-03-06"},
    )
    assert again.status_code == 303
    assert (await document(app, doc)).status == "04"
