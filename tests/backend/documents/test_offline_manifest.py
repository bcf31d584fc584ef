"""What a person keeps on their device for offline reading (/offline/manifest), and the
idempotency guard that makes a replayed offline action happen once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from backend.core.models import User
from backend.documents import offline
from backend.documents.forms import parse_incoming
from backend.documents.intake import Limits, Registrar, Upload, register_incoming
from backend.workflow import assignments
from backend.workflow.assignments import Actor, Party, Plan
from backend.workflow.tables import Assignment, TimelineEvent
from signing import make_sample_pdf
from tests.backend.identity import conftest as identity
from tests.backend.identity.conftest import World, resources_of, sign_in_as
from tests.backend.signing_flow.conftest import make_draft
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio

# The identity suite's fixtures: an app on a fixed clock, a browser-like client, a seeded agency.
app, client, clock, world = identity.app, identity.client, identity.clock, identity.world


@dataclass(frozen=True)
class Scene:
    lead_doc: int  # the specialist is chủ trì
    inform_doc: int  # the specialist is only informed
    other_doc: int  # not given to the specialist
    hop: int  # the specialist's assignment on lead_doc
    pages: int


async def scene(app: LifespanManager, world: World) -> Scene:
    res = resources_of(app)
    ids: list[int] = []
    async with res.sessions() as db, db.begin():
        clerk = await db.get_one(User, world.user_ids["clerk"])
        for n, pages in enumerate((2, 1, 1)):
            form = parse_incoming(
                {
                    "type_code": "CV",
                    "subject": f"Văn bản số {n}",
                    "issuer_name": "Sở Nội vụ",
                    "number_symbol": f"{n + 1}/SNV",
                },
                today=res.clock.now().date(),
            )
            document = await register_incoming(
                db,
                clock=res.clock,
                blobs=res.blobs,
                workers=res.pdf_workers,
                registrar=Registrar.clerk(clerk),
                form=form,
                scans=[],
                pdfs=[Upload("vb.pdf", "application/pdf", make_sample_pdf(pages=pages))],
                limits=Limits(max_bytes=10 * 1024 * 1024),
            )
            ids.append(document.id)
    async with res.sessions() as db, db.begin():
        leader = await db.get_one(User, world.user_ids["leader"])
        actor = Actor(leader, device="iPad")
        due = res.clock.now().date() + timedelta(days=5)
        documents = [await db.get_one(assignments.Document, i) for i in ids]
        lead = await assignments.assign(
            db,
            clock=res.clock,
            actor=actor,
            document=documents[0],
            plan=Plan(lead=Party(user_id=world.user_ids["specialist"]), deadline=due),
        )
        await assignments.assign(
            db,
            clock=res.clock,
            actor=actor,
            document=documents[1],
            plan=Plan(
                lead=Party(user_id=world.user_ids["unit_head"]),
                deadline=due,
                inform=[Party(user_id=world.user_ids["specialist"])],
            ),
        )
    return Scene(lead_doc=ids[0], inform_doc=ids[1], other_doc=ids[2], hop=lead.id, pages=2)


async def manifest_of(app: LifespanManager, client: httpx.AsyncClient, user_id: int) -> dict:  # type: ignore[type-arg]
    client.cookies.clear()
    await sign_in_as(app, client, user_id)
    response = await client.get("/offline/manifest")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict = response.json()  # type: ignore[type-arg]
    assert body["user"] == user_id
    return body


async def test_each_person_keeps_their_open_work_and_signing_queue(
    app: LifespanManager, client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await scene(app, world)
    body = await manifest_of(app, client, world.user_ids["specialist"])
    assert [d["id"] for d in body["documents"]] == [s.lead_doc]
    doc = body["documents"][0]
    assert doc["kind"] == "work" and doc["url"] == f"/documents/{s.lead_doc}"
    assert len(doc["pages"]) == s.pages
    assert "/documents?inbox=viec-cua-toi" in body["lists"]
    # The URLs are what the reader asks for: they answer, as images, to this person.
    image = await client.get(doc["pages"][1])
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    reader = await client.get(doc["url"])
    assert reader.status_code == 200 and reader.headers["cache-control"] == "no-store"

    # New content on the reader page (a progress step) gives a new version tag.
    report = await client.post(f"/assignments/{s.hop}/progress", data={"note": "Đang làm"})
    assert report.status_code == 303
    again = await manifest_of(app, client, world.user_ids["specialist"])
    assert again["documents"][0]["version"] != doc["version"]
    assert again["documents"][0]["pages"] == doc["pages"]

    # Past the cap on page images, documents stay on the server.
    monkeypatch.setattr(offline, "MAX_IMAGES", s.pages - 1)
    assert (await manifest_of(app, client, world.user_ids["specialist"]))["documents"] == []
    monkeypatch.undo()

    # Finished work leaves the device.
    done = await client.post(f"/assignments/{s.hop}/complete", data={"result": "Đã xong"})
    assert done.status_code == 303
    assert (await manifest_of(app, client, world.user_ids["specialist"]))["documents"] == []

    # The leader keeps the "Chờ ký" queue; a clerk has no work of this kind.
    draft = await make_draft(app, world, subject="Công điện ứng phó bão số 9", urgency=3)
    leader = await manifest_of(app, client, world.user_ids["leader"])
    assert [(d["id"], d["kind"], d["url"]) for d in leader["documents"]] == [
        (draft, "to_sign", f"/sign/{draft}")
    ]
    assert len(leader["documents"][0]["pages"]) == 2
    assert "/sign" in leader["lists"]
    clerk = await manifest_of(app, client, world.user_ids["clerk"])
    assert clerk["documents"] == [] and clerk["lists"] == ["/"]


async def _events(app: LifespanManager, document_id: int) -> list[str]:
    async with resources_of(app).sessions() as db:
        return list(
            await db.scalars(
                select(TimelineEvent.note)
                .where(TimelineEvent.document_id == document_id, TimelineEvent.kind == "progress")
                .order_by(TimelineEvent.id)
            )
        )


async def test_a_replayed_progress_note_is_recorded_once_whatever_the_timing(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    s = await scene(app, world)
    await sign_in_as(app, client, world.user_ids["specialist"])
    url = f"/assignments/{s.hop}/progress"
    key = "6f1c2a0e-4b7d-4c1e-9a55-0d3c6f2b9e11"
    first = await client.post(
        url,
        data={"note": "Ghi chú ngoại tuyến", "client_key": key},
        headers={"Idempotency-Key": key},
    )
    # The device never saw the answer and sends it again (form field only, then header only).
    second = await client.post(url, data={"note": "Ghi chú ngoại tuyến", "client_key": key})
    third = await client.post(
        url, data={"note": "Ghi chú ngoại tuyến"}, headers={"Idempotency-Key": key}
    )
    assert first.status_code == second.status_code == third.status_code == 303
    assert first.headers["location"] == second.headers["location"] == third.headers["location"]
    assert await _events(app, s.lead_doc) == ["Ghi chú ngoại tuyến"]
    # Without a key, or with another key, it is a new note.
    await client.post(url, data={"note": "Lần hai"})
    await client.post(url, data={"note": "Lần ba", "client_key": "another-key-0001"})
    assert await _events(app, s.lead_doc) == ["Ghi chú ngoại tuyến", "Lần hai", "Lần ba"]
    async with resources_of(app).sessions() as db:
        keys = await db.scalar(select(func.count()).where(TimelineEvent.client_key.is_not(None)))
    assert keys == 2

    # Several copies at once (a flaky network): one is done, all get the same answer.
    key = "0d6b8a5e-1f7e-4a8e-8f7a-2b7f2c1d9a30"
    answers = await asyncio.gather(
        *[
            client.post(url, data={"note": "Cùng lúc", "percent": "30", "client_key": key})
            for _ in range(4)
        ]
    )
    assert {a.status_code for a in answers} == {303}
    earlier = ["Ghi chú ngoại tuyến", "Lần hai", "Lần ba"]
    assert await _events(app, s.lead_doc) == [*earlier, "Cùng lúc"]
    async with resources_of(app).sessions() as db:
        hop = await db.get_one(Assignment, s.hop)
        assert hop.progress == 30
    mismatch = await client.post(
        url,
        data={"note": "x", "client_key": "aaaaaaaa-1"},
        headers={"Idempotency-Key": "bbbbbbbb-2"},
    )
    assert mismatch.status_code == 422
    bad = await client.post(url, data={"note": "x", "client_key": "<script>"})
    assert bad.status_code == 422
    # A refused action does not use up its key: the corrected retry goes through.
    key = "5e0f7d3c-2a1b-4c9d-8e6f-7a8b9c0d1e2f"
    refused = await client.post(url, data={"note": "", "percent": "150", "client_key": key})
    assert refused.status_code == 422
    fixed = await client.post(url, data={"note": "Sửa lại", "percent": "50", "client_key": key})
    assert fixed.status_code == 303
    assert await _events(app, s.lead_doc) == [*earlier, "Cùng lúc", "Sửa lại"]
