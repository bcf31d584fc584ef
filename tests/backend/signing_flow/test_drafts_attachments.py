"""Attachments (phụ lục) signed text-only by the agency at issuance; the author's "Dự thảo của
tôi" with a returned draft revised and sent again; comments with an idempotency key; drafts
answering an incoming document."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.core.models import Agency, Role, User
from backend.documents import catalogue, comments
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.identity import users
from backend.push.tables import PushOutbox
from backend.signing_flow import drafts
from backend.signing_flow.tables import DocumentComment, Draft
from signing import make_sample_pdf, verify_pdf
from signing.appearance import media_box
from signing.textpos import find_positions
from tests.backend.identity.conftest import World, browser_like, sign_in_as
from tests.backend.signing_flow.conftest import Leader, resources_of
from tests.backend.signing_flow.test_issue import pdfsig_valid
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def client_as(app: LifespanManager, world: World, role: str) -> httpx.AsyncClient:
    origin = resources_of(app).settings.origin
    http = app.client(origin)
    browser_like(http).headers["Origin"] = origin
    await sign_in_as(app, http, world.user_ids[role])
    return http


def draft_fields(world: World, **extra: str) -> dict[str, str]:
    return {
        "type_code": "QD",
        "subject": "Quyết định ban hành quy chế làm việc",
        "recipients": "Các phòng",
        "urgency": "0",
        "signer_id": str(world.user_ids["leader"]),
        **extra,
    }


def pdf_part(name: str, data: bytes) -> tuple[str, tuple[str, bytes, str]]:
    return ("attachments", (name, data, "application/pdf"))


async def files_of(app: LifespanManager, document_id: int) -> list[DocumentFile]:
    async with resources_of(app).sessions() as db:
        return list(
            await db.scalars(
                select(DocumentFile)
                .where(DocumentFile.document_id == document_id)
                .order_by(DocumentFile.position)
            )
        )


async def test_issue_signs_each_attachment_text_only_and_keeps_the_leaders_signature(
    app: LifespanManager, leader: Leader
) -> None:
    world = leader.world
    async with await client_as(app, world, "specialist") as http:
        created = await http.post(
            "/drafts",
            data=draft_fields(world),
            files=[
                ("pdf", ("quyet-dinh.pdf", make_sample_pdf(pages=2), "application/pdf")),
                pdf_part("phu-luc-1.pdf", make_sample_pdf(pages=1, title="Phu luc 1")),
                pdf_part("phu-luc-2.pdf", make_sample_pdf(pages=3, title="Phu luc 2")),
            ],
        )
        assert created.status_code == 303, created.text
        document_id = int(created.headers["location"].split("sent=")[1])
        # A non-PDF attachment is refused with the intake's message, and nothing is stored.
        before = await app_count(app)
        refused = await http.post(
            "/drafts",
            data=draft_fields(world),
            files=[
                ("pdf", ("qd.pdf", make_sample_pdf(pages=1), "application/pdf")),
                pdf_part("anh.pdf", b"GIF89a not a pdf"),
            ],
        )
        assert refused.status_code == 422
        assert "anh.pdf" in refused.text
        assert await app_count(app) == before

    assert [(f.kind, f.name) for f in await files_of(app, document_id)] == [
        ("main", "quyet-dinh.pdf"),
        ("attachment", "phu-luc-1.pdf"),
        ("attachment", "phu-luc-2.pdf"),
    ]
    reader = await leader.http.get(f"/sign/{document_id}")
    assert "phu-luc-1.pdf" in reader.text and "phu-luc-2.pdf" in reader.text
    tx_id = await prepare(leader, document_id)
    done = await confirm(leader, tx_id, await assertion(leader, tx_id))
    assert done.status_code == 200  # type: ignore[attr-defined]

    async with await client_as(app, world, "clerk") as http:
        listing = await http.get("/issue")
        assert listing.text.count("chưa ký: cơ quan ký số khi phát hành") == 2
        issued = await http.post(f"/issue/{document_id}")
        assert issued.status_code == 303, issued.text
        listing = await http.get("/issue")
    assert "Mới phát hành" in listing.text
    recent = listing.text.split("Mới phát hành")[1]
    assert recent.count("Đã kiểm tra: hợp lệ") == 3  # the main file and both attachments

    res = resources_of(app)
    assert res.signing is not None
    main, first, second = await files_of(app, document_id)
    assert [len(f.versions) for f in (main, first, second)] == [3, 2, 2]
    for file, expected in ((main, 2), (first, 1), (second, 1)):
        pdf = await res.blobs.get(file.current.sha256)
        report = await verify_pdf(
            pdf=pdf, trust=res.signing.pki.trust, http_session=res.signing.services.http_session
        )
        assert report.ok, (file.name, report.summary_en)
        assert len(report.signatures) == expected
        path = res.settings.data_dir / f"issued-{file.id}.pdf"
        path.write_bytes(pdf)
        assert await asyncio.to_thread(pdfsig_valid, Path(path)) == expected
        assert file.current.signature_check is not None
        assert file.current.signature_check["status"] == "valid"
        if file.kind == "main":
            leader_sig = report.signatures[0]
            assert leader_sig.signer_name == "Người leader" and leader_sig.ok
            assert leader_sig.modification_level == "FORM_FILLING"
        else:
            # The unsigned version stays; the agency's stamp is text only, top right of page 1.
            assert file.versions[0].sha256 != file.current.sha256
            assert report.signatures[0].signer_name != "Người leader"
            assert_text_only_stamp_top_right(pdf)


def assert_text_only_stamp_top_right(pdf: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(pdf))
    (embedded,) = reader.embedded_signatures
    field = embedded.sig_field
    x1, y1, _x2, _y2 = (float(v) for v in field["/Rect"])
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    _, _, width, height = media_box(page)  # inherited from the page tree
    assert x1 > width / 2 and y1 > height * 0.8, (x1, y1, width, height)
    # Text only: fonts in the appearance, and no image anywhere inside it.
    subtypes: list[str] = []
    fonts = 0
    stack = [field["/AP"]["/N"].get_object()]
    while stack:
        xobject = stack.pop()
        resources = xobject.get("/Resources", {})
        fonts += len(resources.get("/Font", {}))
        for child in resources.get("/XObject", {}).values():
            child = child.get_object()
            subtypes.append(str(child["/Subtype"]))
            stack.append(child)
    assert fonts >= 1 and "/Image" not in subtypes, subtypes


async def app_count(app: LifespanManager) -> int:
    async with resources_of(app).sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(Document)) or 0)


async def test_returned_draft_is_revised_and_sent_again_to_the_leaders_queue(
    app: LifespanManager, leader: Leader
) -> None:
    world = leader.world
    res = resources_of(app)
    async with await client_as(app, world, "specialist") as author:
        created = await author.post(
            "/drafts",
            data=draft_fields(world, subject="Báo cáo quý III"),
            files={"pdf": ("bao-cao.pdf", make_sample_pdf(pages=1), "application/pdf")},
        )
        document_id = int(created.headers["location"].split("sent=")[1])
        mine = await author.get("/drafts")
        assert "Báo cáo quý III" in mine.text and "Chờ ký" in mine.text
        # Sending again what was not returned is refused.
        early = await author.post(f"/drafts/{document_id}/resubmit", data={"note": "x"})
        assert early.status_code == 422

        returned = await leader.http.post(
            f"/sign/{document_id}/return", data={"comment": "Bổ sung số liệu tháng 9."}
        )
        assert returned.status_code == 303
        events = await res.redis.xrange(f"live-stream:{world.user_ids['specialist']}")
        assert any(fields[b"event"] == b"document-returned" for _id, fields in events)
        # ... and by Web Push, committed with the return: the link opens the author's draft.
        async with res.sessions() as db:
            notices = list(
                await db.scalars(
                    select(PushOutbox).where(PushOutbox.user_id == world.user_ids["specialist"])
                )
            )
        assert [
            (n.payload["title"], res.push.worker.message(n.payload)["url"]) for n in notices
        ] == [("Dự thảo bị trả lại: Báo cáo quý III", f"/drafts/{document_id}")]
        assert "Bổ sung số liệu tháng 9." in str(notices[0].payload["body"])
        assert "Báo cáo quý III" not in (await leader.http.get("/sign")).text

        mine = await author.get("/drafts")
        assert "Bị trả lại" in mine.text and "Bổ sung số liệu tháng 9." in mine.text
        page = await author.get(f"/drafts/{document_id}")
        assert "Bổ sung số liệu tháng 9." in page.text and "Gửi lại để ký" in page.text

        # Someone else's draft is not found, for another author.
        async with await client_as(app, world, "unit_head") as other:
            assert (await other.get(f"/drafts/{document_id}")).status_code == 404

        again = await author.post(
            f"/drafts/{document_id}/resubmit",
            data={"note": "Đã bổ sung số liệu."},
            files={"pdf": ("bao-cao-v2.pdf", make_sample_pdf(pages=2), "application/pdf")},
        )
        assert again.status_code == 303, again.text
        page = await author.get(f"/drafts/{document_id}?resent=1")
        assert "Đã gửi lại dự thảo cho người ký." in page.text

    queue = await leader.http.get("/sign")
    assert "Báo cáo quý III" in queue.text
    events = await res.redis.xrange(f"live-stream:{world.user_ids['leader']}")
    assert [f[b"event"] for _i, f in events].count(b"to-sign") == 2
    async with res.sessions() as db:
        document = await db.get_one(Document, document_id)
        draft = await db.get_one(Draft, document_id)
        versions = list(
            await db.scalars(
                select(FileVersion)
                .join(DocumentFile, DocumentFile.id == FileVersion.file_id)
                .where(DocumentFile.document_id == document_id)
                .order_by(FileVersion.version)
            )
        )
        kinds = list(
            await db.scalars(
                select(DocumentComment.kind)
                .where(DocumentComment.document_id == document_id)
                .order_by(DocumentComment.id)
            )
        )
    assert document.status == catalogue.Status.DRAFT and document.page_count == 2
    # The revised draft's own signer block, found again on its new last page.
    revised = find_positions(make_sample_pdf(pages=2))
    assert draft.sign_page == 1
    assert drafts.leader_box(draft) == pytest.approx(revised.leader_box, abs=0.01)
    assert [(v.version, v.page_count) for v in versions] == [(1, 1), (2, 2)]  # the old stays
    assert versions[1].derived_from == [versions[0].sha256]
    assert kinds == ["return", "resubmit"]
    # The revised file is what the leader signs.
    tx_id = await prepare(leader, document_id)
    done = await confirm(leader, tx_id, await assertion(leader, tx_id))
    assert done.status_code == 200  # type: ignore[attr-defined]


async def test_comments_are_idempotent_scoped_and_published_and_replies_link_both_ways(
    app: LifespanManager, leader: Leader, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = leader.world
    res = resources_of(app)
    async with await client_as(app, world, "specialist") as author:
        created = await author.post(
            "/drafts",
            data=draft_fields(world),
            files={"pdf": ("qd.pdf", make_sample_pdf(pages=1), "application/pdf")},
        )
        document_id = int(created.headers["location"].split("sent=")[1])
        key = "0b6a2f0e-52c1-4d1e-9a55-3f2b1c9d8e7f"
        url = f"/documents/{document_id}/comments"
        first = await author.post(
            url,
            data={"body": "Xin ý kiến chỉ đạo.", "client_key": key},
            headers={"Accept": "application/json"},
        )
        replay = await author.post(
            url,
            data={"body": "Xin ý kiến chỉ đạo.", "client_key": key},
            headers={"Accept": "application/json"},
        )
        assert (first.status_code, replay.status_code) == (201, 200)
        assert first.json()["id"] == replay.json()["id"] and replay.json()["created"] is False
        # htmx gets the panel back, with a fresh key for the next comment.
        panel = await author.post(
            url,
            data={"body": "Bổ sung phụ lục.", "client_key": "k" * 32},
            headers={"HX-Request": "true"},
        )
        assert panel.status_code == 200 and 'id="comments"' in panel.text
        assert "Xin ý kiến chỉ đạo." in panel.text and "Bổ sung phụ lục." in panel.text
        assert ("k" * 32) not in panel.text
        assert (await author.post(url, data={"body": "  "})).status_code == 422

    # The same key from another person is that person's own comment.
    seen = await leader.http.post(
        url, data={"body": "Đồng ý.", "client_key": key}, headers={"Accept": "application/json"}
    )
    assert seen.status_code == 201
    listing = await leader.http.get(url)
    assert listing.text.count('class="comment comment--comment"') == 3
    # The leader's comment is published to the draft's author; the author's to the leader.
    author_events = await res.redis.xrange(f"live-stream:{world.user_ids['specialist']}")
    assert b"comments" in [f[b"event"] for _i, f in author_events]
    leader_events = await res.redis.xrange(f"live-stream:{world.user_ids['leader']}")
    assert [f[b"event"] for _i, f in leader_events].count(b"comments") == 3

    # A specialist it was not given to neither reads nor adds; nothing is confirmed.
    async with res.sessions() as db, db.begin():
        agency = await db.get_one(Agency, world.agency_id)
        other = await users.create_user(
            db,
            clock=res.clock,
            agency=agency,
            username="chuyenvien2",
            full_name="Chuyên viên 2",
            roles={Role.SPECIALIST},
        )
    world.user_ids["other_specialist"] = other.id
    async with await client_as(app, world, "other_specialist") as outsider:
        assert (await outsider.get(url)).status_code == 404
        assert (await outsider.post(url, data={"body": "x"})).status_code == 404

    async with res.sessions() as db:
        count = await db.scalar(
            select(func.count()).where(DocumentComment.document_id == document_id)
        )
        assert count == 3
    # The SQL constraint holds on its own (two processes racing past the lookup).
    async with res.sessions() as db, db.begin():
        stored = await db.scalar(
            select(DocumentComment).where(DocumentComment.client_key == key).limit(1)
        )
        assert stored is not None
        twin = DocumentComment(
            document_id=document_id,
            author_id=stored.author_id,
            body="lặp",
            created_at=stored.created_at,
            client_key=key,
        )
        db.add(twin)
        with pytest.raises(IntegrityError):
            await db.flush()

    # A replay that raced past the lookup (another server process) hits the unique index
    # inside a savepoint and answers with the stored comment; the transaction goes on.
    lookups: list[str] = []
    real_lookup = comments._by_key

    async def late_lookup(db: object, author_id: int, client_key: str) -> object:
        lookups.append(client_key)
        if len(lookups) == 1:
            return None
        return await real_lookup(db, author_id, client_key)  # type: ignore[arg-type]

    monkeypatch.setattr(comments, "_by_key", late_lookup)
    async with res.sessions() as db, db.begin():
        document = await db.get_one(Document, document_id)
        author = await db.get_one(User, world.user_ids["leader"])
        added = await comments.add_comment(
            db, clock=res.clock, author=author, document=document, body="Đồng ý.", client_key=key
        )
        assert added.created is False and added.comment.body == "Đồng ý."
        assert len(lookups) == 2
    monkeypatch.undo()

    # One app for both (the leader's enrolment is the slow part of the setup).
    await a_reply_draft_links_both_ways(app, leader)


async def a_reply_draft_links_both_ways(app: LifespanManager, leader: Leader) -> None:
    world = leader.world
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        incoming = Document(
            agency_id=world.agency_id,
            direction=catalogue.Direction.INCOMING,
            type_code="CV",
            number=245,
            symbol="STC-NS",
            issuer_name="Sở Tài chính tỉnh Tây Ninh",
            subject="Đề nghị báo cáo tình hình giải ngân",
            status=catalogue.Status.REGISTERED,
            unit_id=world.unit_id,
            created_at=res.clock.now(),
        )
        db.add(incoming)
        await db.flush()
        incoming_id = incoming.id

    async with await client_as(app, world, "unit_head") as author:
        form = await author.get(f"/drafts/new?reply_to={incoming_id}")
        assert "Trả lời văn bản số 245/STC-NS" in form.text
        assert "V/v trả lời văn bản số 245/STC-NS" in form.text  # the subject, prefilled
        assert f'name="reply_to" value="{incoming_id}"' in form.text
        assert '<option value="CV" selected>' in form.text
        created = await author.post(
            "/drafts",
            data=draft_fields(world, reply_to=str(incoming_id), subject="Trả lời"),
            files={"pdf": ("tl.pdf", make_sample_pdf(pages=1), "application/pdf")},
        )
        assert created.status_code == 303, created.text
        draft_id = int(created.headers["location"].split("sent=")[1])
        page = await author.get(f"/drafts/{draft_id}")
        assert "Trả lời văn bản số 245/STC-NS" in page.text

    async with res.sessions() as db:
        assert [d.id for d in await drafts.replies_to(db, incoming_id)] == [draft_id]
        assert (await db.get_one(Draft, draft_id)).reply_to_id == incoming_id
    replies = await leader.http.get(f"/documents/{incoming_id}/replies")
    assert "Dự thảo trả lời" in replies.text and f'href="/documents/{draft_id}"' in replies.text
    back = await leader.http.get(f"/documents/{draft_id}/replies")
    assert "Trả lời văn bản số 245/STC-NS" in back.text

    # The specialist was not given the incoming document: no reply to it.
    async with await client_as(app, world, "specialist") as stranger:
        assert (await stranger.get(f"/drafts/new?reply_to={incoming_id}")).status_code == 404
        refused = await stranger.post(
            "/drafts",
            data=draft_fields(world, reply_to=str(incoming_id)),
            files={"pdf": ("tl.pdf", make_sample_pdf(pages=1), "application/pdf")},
        )
        assert refused.status_code == 404
