"""Richer progress reports: milestones that set the percentage, files checked by content and
downloadable by those who may see the document, the reply-draft link, and idempotent replays
from an offline queue."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from backend.core.models import Role
from backend.workflow import reports
from backend.workflow.tables import Assignment, Milestone, ProgressFile, TimelineEvent
from signing import make_sample_pdf
from tests.backend.identity.conftest import World, resources_of
from tests.backend.workflow.helpers import add_person, registered
from tests.backend.workflow.test_assignments import as_user, html, rows
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


def office_file(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return buffer.getvalue()


def test_files_are_recognised_by_their_content_not_their_name() -> None:
    assert reports.sniff(make_sample_pdf(pages=1)) == reports.PDF
    assert reports.sniff(PNG) == reports.PNG
    assert reports.sniff(b"\xff\xd8\xff\xe0" + b"\x00" * 16) == reports.JPEG
    assert reports.sniff(office_file("docx")) == reports.DOCX
    assert reports.sniff(office_file("xlsx")) == reports.XLSX
    assert reports.sniff(b"PK\x03\x04 not really a zip") is None
    assert reports.sniff(b"<html><script>alert(1)</script>") is None


async def _given_to_specialist(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> tuple[int, int]:
    ids = world.user_ids
    doc = await registered(app, world.agency_id)
    await as_user(app, client, ids["leader"])
    await client.post(
        f"/documents/{doc}/assign",
        data={
            "lead": f"u:{ids['specialist']}",
            "cooperate": [f"u:{ids['unit_head']}"],
            "deadline": "2026-03-06",
            "deadline_time": "15:30",
        },
    )
    lead = (await rows(app, Assignment, Assignment.document_id == doc))[0]
    return doc, lead.id


async def test_milestones_tick_the_percentage_and_the_reply_link(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc, hop = await _given_to_specialist(app, client, world)
    # Only the chủ trì defines the checklist.
    await as_user(app, client, ids["unit_head"])
    cooperator_hop = (await rows(app, Assignment, Assignment.document_id == doc))[1].id
    assert (
        await client.post(f"/assignments/{hop}/milestones", data={"steps": "x"})
    ).status_code == 403
    page = html(await client.get(f"/documents/{doc}"))
    assert page.select_one("#reply-draft") is None  # co-operators do not draft the reply
    assert page.select_one(f"form[action='/assignments/{cooperator_hop}/milestones']") is None

    await as_user(app, client, ids["specialist"])
    steps = "Xin ý kiến Sở Tài chính\nDự thảo văn bản trả lời\n\nTrình lãnh đạo phòng\nTrình ký"
    assert (
        await client.post(f"/assignments/{hop}/milestones", data={"steps": steps})
    ).status_code == 303
    page = html(await client.get(f"/documents/{doc}"))
    assert page.select_one("#reply-draft")["href"] == f"/drafts/new?reply_to={doc}"
    assert "17:00" not in page.select_one(".hop__due").get_text()
    assert "15:30 06/03/2026" in page.select_one(".hop__due").get_text()
    boxes = page.select(f"form[action='/assignments/{hop}/progress'] input[name=milestone]")
    assert len(boxes) == 4
    # Ticking two of four steps is 50%; the percentage box is gone with a checklist.
    assert (
        page.select_one(f"form[action='/assignments/{hop}/progress'] input[name=percent]") is None
    )
    key = page.select_one(f"form[action='/assignments/{hop}/progress'] input[name=client_key]")
    response = await client.post(
        f"/assignments/{hop}/progress",
        data={
            "milestones_shown": "1",
            "milestone": [boxes[0]["value"], boxes[1]["value"]],
            "note": "",
            "client_key": key["value"],
        },
    )
    assert response.status_code == 303, response.text
    [row] = await rows(app, Assignment, Assignment.id == hop)
    assert row.progress == 50
    done = [
        m.title
        for m in await rows(app, Milestone, Milestone.assignment_id == hop)
        if m.done_at is not None
    ]
    assert done == ["Xin ý kiến Sở Tài chính", "Dự thảo văn bản trả lời"]
    # Redefining keeps ticks by name; unticking everything is 0%.
    await client.post(f"/assignments/{hop}/milestones", data={"steps": steps + "\nPhát hành"})
    [row] = await rows(app, Assignment, Assignment.id == hop)
    assert row.progress == 40
    await client.post(f"/assignments/{hop}/progress", data={"milestones_shown": "1"})
    [row] = await rows(app, Assignment, Assignment.id == hop)
    assert row.progress == 0
    timeline = html(await client.get(f"/documents/{doc}")).select(".timeline__step")
    assert "Đã xong: Xin ý kiến Sở Tài chính, Dự thảo văn bản trả lời" in timeline[2].get_text()


async def test_files_with_a_report_are_checked_stored_and_served_to_those_who_may_see(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc, hop = await _given_to_specialist(app, client, world)
    await as_user(app, client, ids["specialist"])
    pdf = make_sample_pdf(pages=1)
    fake = await client.post(
        f"/assignments/{hop}/progress",
        data={"note": "Dự thảo"},
        files={"files": ("du-thao.pdf", b"MZ\x90\x00 not a pdf")},
    )
    assert fake.status_code == 422
    assert "không phải PDF, DOCX, XLSX, JPEG hay PNG" in fake.text
    response = await client.post(
        f"/assignments/{hop}/progress",
        data={"note": "Gửi dự thảo và ảnh biên bản", "percent": "70"},
        files=[
            ("files", ("Dự thảo trả lời.pdf", pdf, "application/octet-stream")),
            ("files", ("bien-ban", PNG, "application/pdf")),
            ("files", ("bang-so-lieu.xlsx", office_file("xlsx"), "text/plain")),
        ],
    )
    assert response.status_code == 303, response.text
    stored = await rows(app, ProgressFile, ProgressFile.document_id == doc)
    assert [(f.filename, f.media_type) for f in stored] == [
        ("Dự thảo trả lời.pdf", reports.PDF),
        ("bien-ban.png", reports.PNG),
        ("bang-so-lieu.xlsx", reports.XLSX),
    ]
    assert await resources_of(app).blobs.get(stored[0].sha256) == pdf
    page = html(await client.get(f"/documents/{doc}"))
    links = [a["href"] for a in page.select(".timeline__files a")]
    assert links == [f"/progress-files/{f.id}" for f in stored]

    # Served with the type found by content, as a download, to whoever may view the document.
    for who in ("specialist", "leader", "unit_head"):
        await as_user(app, client, ids[who])
        got = await client.get(f"/progress-files/{stored[1].id}")
        assert got.status_code == 200, who
        assert (got.content, got.headers["content-type"]) == (PNG, "image/png")
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
    stranger = await add_person(app, world.agency_id, None, "cvkhac", Role.SPECIALIST)
    await as_user(app, client, stranger)
    assert (await client.get(f"/progress-files/{stored[1].id}")).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no SQL of its own
async def test_too_many_or_too_large_files_are_refused(
    app: LifespanManager, client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc, hop = await _given_to_specialist(app, client, world)
    await as_user(app, client, world.user_ids["specialist"])
    monkeypatch.setattr(reports, "MAX_FILE_BYTES", 100)
    big = await client.post(
        f"/assignments/{hop}/progress",
        data={"note": "x"},
        files={"files": ("a.png", PNG + b"\x00" * 200)},
    )
    assert big.status_code == 422
    # A body larger than every allowed file together is refused before it is read.
    padded = PNG + b"\x00" * (2 * 1024 * 1024)
    huge = await client.post(
        f"/assignments/{hop}/progress", data={"note": "x"}, files={"files": ("b.png", padded)}
    )
    assert huge.status_code == 422
    assert "quá lớn" in huge.text
    assert await rows(app, ProgressFile, ProgressFile.document_id == doc) == []
    events = await rows(app, TimelineEvent, TimelineEvent.document_id == doc)
    assert [e.kind for e in events] == ["assigned"]  # nothing was recorded


async def test_a_replayed_report_is_recorded_once(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc, hop = await _given_to_specialist(app, client, world)
    await as_user(app, client, ids["specialist"])
    report = {"note": "Đã làm việc với Sở TT&TT", "percent": "30", "client_key": "q-7f3a"}
    for _ in range(3):
        replay = await client.post(
            f"/assignments/{hop}/progress", data=report, files={"files": ("a.png", PNG)}
        )
        assert replay.status_code == 303
    events = await rows(app, TimelineEvent, TimelineEvent.kind == "progress")
    assert [(e.note, e.client_key) for e in events] == [(report["note"], "q-7f3a")]
    assert len(await rows(app, ProgressFile, ProgressFile.document_id == doc)) == 1
    # A different report under a used key (a page restored by the Back button) is refused, not
    # silently dropped.
    other = await client.post(
        f"/assignments/{hop}/progress", data={**report, "note": "Một báo cáo khác"}
    )
    assert other.status_code == 409
    assert "Hãy tải lại trang" in other.text
    # Another person's key is theirs: the co-operator's input with the same key is recorded.
    await as_user(app, client, ids["unit_head"])
    cooperator_hop = (await rows(app, Assignment, Assignment.document_id == doc))[1].id
    assert (
        await client.post(
            f"/assignments/{cooperator_hop}/progress",
            data={"note": "Ý kiến phối hợp", "client_key": "q-7f3a"},
        )
    ).status_code == 303
    assert len(await rows(app, TimelineEvent, TimelineEvent.client_key == "q-7f3a")) == 2

    # The database itself refuses a second row with the same person and key (races).
    res = resources_of(app)
    with pytest.raises(IntegrityError):
        async with res.sessions() as db, db.begin():
            db.add(
                TimelineEvent(
                    document_id=doc,
                    assignment_id=hop,
                    actor_id=ids["specialist"],
                    kind="progress",
                    note="",
                    detail={},
                    device="",
                    at=res.clock.now(),
                    client_key="q-7f3a",
                )
            )
