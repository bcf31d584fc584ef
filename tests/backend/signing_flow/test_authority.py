"""Who signs for whom: the head gives KT., TL.; the draft names its signer form and its signer
block must print it; the deputy signs "KT. CHỦ TỊCH" with their own certificate and the
signature says for whom; expired, out-of-scope and revoked authority and absences are refused
with their reason and nothing is half-signed; an absence sends the queue to the deputy and
back."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from backend import organisations
from backend.core.audit import AuditEntry
from backend.core.clock import FixedClock
from backend.core.errors import ForbiddenError, ValidationError
from backend.core.models import Agency, Role, User
from backend.documents.tables import Document
from backend.identity import users
from backend.push.tables import PushOutbox
from backend.signing_flow import authority, run
from backend.signing_flow import transactions as tx_mod
from backend.signing_flow.tables import SignForm, SigningGrant, SigningTransaction, TxState
from backend.workflow import assignments, dashboard
from backend.workflow.assignments import Actor
from signing import make_sample_pdf, verify_pdf
from signing.textpos import find_positions
from tests.backend.identity.conftest import (
    World,
    browser_like,
    enrol,
    invite,
    sign_in_as,
)
from tests.backend.signing_flow.conftest import Leader, resources_of
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare, versions
from tests.backend.workflow.helpers import registered
from tests.support.authenticator import SoftAuthenticator
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio

KT_LINES = ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
HEAD_LINES = ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"


def pdfsig_valid(path: Path) -> int:
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return out.stdout.count("Signature is Valid")


async def province_of(app: LifespanManager, world: World) -> World:
    """The world's leader becomes the Chairman of a People's Committee (a collective body: "TM.
    ỦY BAN NHÂN DÂN"); a Vice-Chairman, "deputy", joins them."""
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        office = await db.get_one(Agency, world.agency_id)
        ubnd = await organisations.create_agency(
            db, clock=res.clock, code="000.00.00.H53", name="Ủy ban nhân dân tỉnh Tây Ninh",
            short_name="UBND",
        )  # fmt: skip
        leader = await db.get_one(User, world.user_ids["leader"])
        leader.signs_for_agency_id = ubnd.id
        deputy = await users.create_user(
            db, clock=res.clock, agency=office, username="deputy", full_name="Người deputy",
            title="Phó Chủ tịch UBND tỉnh", roles={Role.LEADER}, signs_for=ubnd,
        )  # fmt: skip
        world.user_ids["deputy"] = deputy.id
    return world


@pytest.fixture
async def province(app: LifespanManager, world: World) -> World:
    return await province_of(app, world)


@asynccontextmanager
async def client_for(app: LifespanManager, user_id: int) -> AsyncIterator[httpx.AsyncClient]:
    origin = resources_of(app).settings.origin
    async with app.client(origin) as http:
        browser_like(http).headers["Origin"] = origin
        await sign_in_as(app, http, user_id)
        yield http


async def with_passkey(app: LifespanManager, world: World, user_id: int) -> Leader:
    """A signer with an enrolled passkey on a soft authenticator, signed in."""
    authenticator = SoftAuthenticator()
    http = app.client()
    await http.__aenter__()
    browser_like(http)
    enrolled = await enrol(http, await invite(app, user_id), authenticator)
    assert enrolled.status_code == 200, enrolled.text
    http.cookies.clear()
    await sign_in_as(app, http, user_id)
    return Leader(world, http, authenticator)


async def give(
    app: LifespanManager,
    actor: int,
    holder: int,
    form: SignForm,
    *,
    title: str = "",
    types: frozenset[str] = frozenset(),
    until: int | None = None,
) -> int:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        grant = await authority.give(
            db,
            clock=res.clock,
            actor=await db.get_one(User, actor),
            form=authority.GrantForm(
                user_id=holder, form=form, title=title, head_title="Chủ tịch", types=types,
                valid_from=None,
                valid_until=(authority.today(res.clock) + timedelta(days=until))
                if until is not None else None,
                decision_ref="Quyết định số 12/QĐ-UBND" if form in (SignForm.Q, SignForm.TUQ)
                else "",
            ),
        )  # fmt: skip
        return grant.id


async def draft(
    app: LifespanManager,
    world: World,
    signer: str,
    *,
    lines: tuple[str, ...],
    name: str,
    type_code: str = "QD",
    subject: str = "Quyết định phê duyệt kế hoạch chuyển đổi số 2027",
) -> httpx.Response:
    async with client_for(app, world.user_ids["specialist"]) as http:
        return await http.post(
            "/drafts",
            data={"type_code": type_code, "subject": subject, "urgency": "0",
                  "signer_id": signer},
            files={"pdf": ("du-thao.pdf", make_sample_pdf(pages=1, signer_name=name,
                                                        signer_lines=lines), "application/pdf")},
        )  # fmt: skip


def sent_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("sent=")[1])


async def test_the_vice_chairman_signs_kt_and_the_issued_document_says_so(
    app: LifespanManager, province: World
) -> None:
    ids, res = province.user_ids, resources_of(app)
    # The administrator appoints the head; the head gives KT. to the Vice-Chairman (over HTTP).
    async with client_for(app, ids["admin"]) as admin:
        made = await admin.post(
            "/signing-authority",
            data={"user_id": str(ids["leader"]), "form": "head", "head_title": "Chủ tịch"},
        )
        assert made.status_code == 303, made.text
    async with client_for(app, ids["leader"]) as head:
        made = await head.post(
            "/signing-authority",
            data={"user_id": str(ids["deputy"]), "form": "kt", "title": "Phó Chủ tịch"},
        )
        assert made.status_code == 303, made.text
        # Q. (acting) is an appointment: not the head's to give.
        acting = await head.post("/signing-authority", data={"user_id": str(ids["deputy"]),
                                                             "form": "q"})  # fmt: skip
        assert acting.status_code == 403
        page = await head.get("/signing-authority")
        assert "KT. CHỦ TỊCH" in page.text and "PHÓ CHỦ TỊCH" in page.text
    async with client_for(app, ids["deputy"]) as deputy_http:
        # Nobody re-delegates: the deputy gives nothing.
        again = await deputy_http.post(
            "/signing-authority", data={"user_id": str(ids["specialist"]), "form": "tl",
                                        "title": "Chuyên viên", "types": "CV"},
        )  # fmt: skip
        assert again.status_code == 403
    async with res.sessions() as db:
        kt = await db.scalar(select(SigningGrant).where(SigningGrant.form == "kt"))
        assert kt is not None
        given = await db.scalar(
            select(func.count()).where(AuditEntry.action == "signing.grant_given")
        )
        assert given == 2

    # The specialist is offered each authority with the lines it prints.
    async with client_for(app, ids["specialist"]) as http:
        offered = await http.get("/drafts/new/signers?type_code=QD")
        assert f'value="g{kt.id}"' in offered.text
        assert "TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH" in offered.text
    # A draft whose signer block prints the Chairman's lines cannot go out for KT.
    wrong = await draft(app, province, f"g{kt.id}", lines=HEAD_LINES, name="Người leader")
    assert wrong.status_code == 422
    assert "Khối chữ ký" in wrong.text and "KT. CHỦ TỊCH" in wrong.text
    async with res.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Document)) == 0
    document_id = sent_id(
        await draft(app, province, f"g{kt.id}", lines=KT_LINES, name="Người deputy")
    )

    # It waits in the Vice-Chairman's queue, not the Chairman's; she signs with her own key.
    deputy = await with_passkey(app, province, ids["deputy"])
    chairman = await with_passkey(app, province, ids["leader"])
    try:
        assert "chuyển đổi số" in (await deputy.http.get("/sign")).text
        assert "chuyển đổi số" not in (await chairman.http.get("/sign")).text
        view = await deputy.http.get(f"/sign/{document_id}")
        assert "KT. CHỦ TỊCH" in view.text
        tx_id = await prepare(deputy, document_id)
        done = await confirm(deputy, tx_id, await assertion(deputy, tx_id))
        assert done.status_code == 200 and done.json()["status"] == "completed"  # type: ignore[attr-defined]
    finally:
        await deputy.http.aclose()
        await chairman.http.aclose()

    async with client_for(app, ids["clerk"]) as clerk:
        issued = await clerk.post(f"/issue/{document_id}")
        assert issued.status_code == 303, issued.text
        # Found without diacritics and by its number, like any registered document.
        for query in ("phe duyet ke hoach chuyen doi so", "01/QĐ-UBND"):
            found = await clerk.get("/documents/search", params={"q": query})
            assert "chuyển đổi số 2027" in found.text, query
        shown = await clerk.get(f"/documents/{document_id}")
        assert "KT. CHỦ TỊCH" in shown.text and "ký thay Chủ tịch" in shown.text
    final = await res.blobs.get((await versions(app, document_id))[-1].sha256)
    assert res.signing is not None
    report = await verify_pdf(
        pdf=final, trust=res.signing.pki.trust, http_session=res.signing.services.http_session
    )
    assert report.ok, report.summary_en
    leader_sig = report.signatures[0]
    # Her certificate, and the signature itself states in which form and for whom.
    assert leader_sig.signer_name == "Người deputy"
    assert "KT. CHỦ TỊCH" in leader_sig.stated_reason
    assert "ký thay Chủ tịch" in leader_sig.stated_reason
    # The page prints the authority lines above her signature, her name under it.
    printed = find_positions(final)
    assert printed.block_lines[-3:] == KT_LINES and printed.signer_name == "Người deputy"
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "authority-kt-issued.pdf"
    path.write_bytes(final)
    assert await asyncio.to_thread(pdfsig_valid, path) == 2
    await asyncio.to_thread(
        subprocess.run,
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            str(path),
            str(path.with_suffix("")),
        ],
        check=True,
    )


async def test_expired_out_of_scope_and_revoked_authority_signs_nothing(
    app: LifespanManager, province: World, clock: FixedClock
) -> None:
    ids, res = province.user_ids, resources_of(app)
    await give(app, ids["admin"], ids["leader"], SignForm.HEAD)
    # A KT. grant ending today; TL. for công văn only, to the office chief.
    kt = await give(app, ids["leader"], ids["deputy"], SignForm.KT, title="Phó Chủ tịch", until=0)
    tl = await give(app, ids["leader"], ids["office_chief"], SignForm.TL,
                    title="Chánh Văn phòng", types=frozenset({"CV"}))  # fmt: skip

    # Out of scope when sending: a decision is not offered under TL., and refused if forced.
    async with client_for(app, ids["specialist"]) as http:
        offered = await http.get("/drafts/new/signers?type_code=QD")
        assert f'value="g{tl}"' not in offered.text
        assert f'value="g{tl}"' in (await http.get("/drafts/new/signers?type_code=CV")).text
    tl_lines = ("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG")
    forced = await draft(app, province, f"g{tl}", lines=tl_lines, name="Người office_chief")
    assert forced.status_code == 422 and "chỉ ký" in forced.text
    letter = sent_id(
        await draft(app, province, f"g{tl}", lines=tl_lines, name="Người office_chief",
                    type_code="CV", subject="Công văn đôn đốc báo cáo")
    )  # fmt: skip
    # …and out of scope when signing (the type changed after sending): refused, with the scope.
    async with res.sessions() as db, db.begin():
        (await db.get_one(Document, letter)).type_code = "QD"
    async with res.sessions() as db:
        chief = await db.get_one(User, ids["office_chief"])
        with pytest.raises(tx_mod.SigningFlowError) as refused:
            await tx_mod.signable(db, chief, [letter], clock=clock)
        assert "chỉ gồm: Công văn" in refused.value.message_vi

    # Expired between sending and signing.
    late = sent_id(await draft(app, province, f"g{kt}", lines=KT_LINES, name="Người deputy"))
    deputy = await with_passkey(app, province, ids["deputy"])
    try:
        clock.advance(timedelta(days=1))
        await sign_in_as(app, deputy.http, ids["deputy"])  # a new day, a new session
        response = await deputy.http.post(
            "/sign/transactions", data={"document_id": [str(late)], "method": "passkey"}
        )
        assert response.status_code == 409 and "hết hạn" in response.text
        async with res.sessions() as db:
            assert await db.scalar(select(func.count()).select_from(SigningTransaction)) == 0
        clock.advance(timedelta(days=-1))
        await sign_in_as(app, deputy.http, ids["deputy"])

        # Revoked while a confirmation is pending: the passkey confirmation signs nothing…
        pending = sent_id(
            await draft(app, province, f"g{kt}", lines=KT_LINES, name="Người deputy",
                        subject="Quyết định thành lập tổ công tác")
        )  # fmt: skip
        tx_id = await prepare(deputy, pending)
        credential = await assertion(deputy, tx_id)
        # …and a SIM whose PIN was entered (its signature value back from the MSSP) neither.
        assert res.signing is not None
        async with res.sessions() as db, db.begin():
            sim_tx = await tx_mod.prepare(
                db, clock=clock, blobs=res.blobs, setup=res.signing,
                signer=await db.get_one(User, ids["deputy"]), document_ids=[late],
                method="sim", lifetime=timedelta(minutes=2),
            )  # fmt: skip
            sim_id = sim_tx.transaction.id
            for item in sim_tx.transaction.items:
                key = res.signing.keys.key("deputy")
                item.signature_value = await key.sign(dtbs=item.dtbs)
        async with res.sessions() as db, db.begin():
            await tx_mod.move(db, sim_id, clock=clock, from_states=(TxState.PREPARED,),
                              to=TxState.SIGNING)  # fmt: skip
            await authority.revoke(
                db, clock=clock, actor=await db.get_one(User, ids["leader"]), grant_id=kt,
                reason="Điều chỉnh phân công nhiệm vụ",
            )  # fmt: skip
        done = await confirm(deputy, tx_id, credential)
        assert done.json()["status"] == "failed"  # type: ignore[attr-defined]
        sim_done = await run.execute(
            res.sessions, res.redis, clock=clock, blobs=res.blobs, setup=res.signing, tx_id=sim_id
        )
        assert sim_done.status == TxState.FAILED
        assert "thu hồi" in sim_done.items[0].error
    finally:
        await deputy.http.aclose()
    for document_id in (pending, late):
        assert [v.version for v in await versions(app, document_id)] == [1]
    async with res.sessions() as db:
        for document_id in (pending, late):
            assert (await db.get_one(Document, document_id)).status == "draft"
        refusals = await db.scalar(
            select(func.count()).where(AuditEntry.action == "signing.refused")
        )
        assert refusals == 2
        revoked = await db.scalar(
            select(func.count()).where(AuditEntry.action == "signing.grant_revoked")
        )
        assert revoked == 1


async def test_an_absence_sends_the_queue_to_the_deputy_and_back(
    app: LifespanManager, province: World, clock: FixedClock
) -> None:
    ids, res = province.user_ids, resources_of(app)
    head = await give(app, ids["admin"], ids["leader"], SignForm.HEAD)
    kt = await give(app, ids["leader"], ids["deputy"], SignForm.KT, title="Phó Chủ tịch")
    waiting = sent_id(await draft(app, province, f"g{head}", lines=HEAD_LINES,
                                  name="Người leader"))  # fmt: skip
    incoming = await registered(app, province.agency_id, subject="Về việc phòng chống bão số 9")
    later = await registered(app, province.agency_id, subject="Về việc khắc phục hậu quả lũ")
    async with res.sessions() as db, db.begin():
        chief = await db.get_one(User, ids["office_chief"])
        for document_id in (incoming, later):
            await assignments.request_direction(
                db, clock=clock, actor=Actor(chief, device="test"),
                document=await db.get_one(Document, document_id), leader_id=ids["leader"],
                note="Kính trình Chủ tịch",
            )  # fmt: skip
    today = authority.today(clock)
    async with client_for(app, ids["leader"]) as chairman:
        marked = await chairman.post("/absences", data={
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=3)).isoformat(),
            "reason": "Đi công tác Hà Nội", "deputy_id": str(ids["deputy"])})  # fmt: skip
        assert marked.status_code == 303, marked.text
        # Two overlapping absences of one person are refused.
        twice = await chairman.post("/absences", data={
            "starts_on": (today + timedelta(days=2)).isoformat(),
            "ends_on": (today + timedelta(days=5)).isoformat(),
            "reason": "Nghỉ phép", "deputy_id": str(ids["deputy"])})  # fmt: skip
        assert twice.status_code == 422 and "trùng" in twice.text
        # Away: the Chairman is told who covers, and cannot sign meanwhile.
        queue = await chairman.get("/sign")
        assert "Người deputy" in queue.text
        refused = await chairman.post(
            "/sign/transactions", data={"document_id": [str(waiting)], "method": "passkey"}
        )
        assert refused.status_code == 409 and "vắng mặt" in refused.text
    async with client_for(app, ids["deputy"]) as deputy_http:
        # The deputy cannot be away at the same time with the Chairman as her deputy.
        crossed = await deputy_http.post("/absences", data={
            "starts_on": today.isoformat(), "ends_on": today.isoformat(),
            "reason": "Họp", "deputy_id": str(ids["leader"])})  # fmt: skip
        assert crossed.status_code == 422 and "vắng mặt" in crossed.text
        # The Chairman's queue and what was put before him are hers for the period…
        queue = await deputy_http.get("/sign")
        assert "Quyết định phê duyệt" in queue.text and "vắng mặt" in queue.text
        assert "phòng chống bão số 9" in (await deputy_http.get("/direction")).text
        view = await deputy_http.get(f"/sign/{waiting}")
        assert view.status_code == 200 and "data-sign-button" not in view.text
        # …to return, not to sign (the block names the Chairman).
        stolen = await deputy_http.post(
            "/sign/transactions", data={"document_id": [str(waiting)], "method": "passkey"}
        )
        assert stolen.status_code == 404
        back = await deputy_http.post(f"/sign/{waiting}/return", data={
            "comment": "Đồng chí Chủ tịch vắng mặt; đề nghị trình tôi ký thay."})  # fmt: skip
        assert back.status_code == 303
    # She routes what was put before him: the dashboard counts it as hers, done as his deputy.
    async with res.sessions() as db, db.begin():
        await assignments.assign(
            db, clock=clock, actor=Actor(await db.get_one(User, ids["deputy"]), device="test"),
            document=await db.get_one(Document, incoming),
            plan=assignments.Plan(lead=assignments.Party(unit_id=province.unit_id),
                                  deadline=today + timedelta(days=7)),
        )  # fmt: skip
    async with res.sessions() as db:
        figures = await dashboard.numbers(
            db, scope=dashboard.Scope(province.agency_id), start=today - timedelta(days=30),
            end=today, today=today,
        )  # fmt: skip
    assert [(r.name, r.routed, r.covered) for r in figures.leaders] == [("Người deputy", 1, 1)]
    async with res.sessions() as db:
        told = set(await db.scalars(select(PushOutbox.user_id)))
        assert {ids["leader"], ids["deputy"], ids["specialist"]} <= told
    # The specialist redrafts it for the Vice-Chairman's KT. and sends it to her.
    async with client_for(app, ids["specialist"]) as http:
        resent = await http.post(
            f"/drafts/{waiting}/resubmit",
            data={"signer_id": f"g{kt}", "note": "Đã sửa khối chữ ký"},
            files={"pdf": ("du-thao-kt.pdf", make_sample_pdf(pages=1, signer_name="Người deputy",
                                                             signer_lines=KT_LINES),
                           "application/pdf")},
        )  # fmt: skip
        assert resent.status_code == 303, resent.text
    async with res.sessions() as db:
        assert (await db.get_one(Document, waiting)).signer_name == "Người deputy"

    # Back early: the Chairman ends the absence; what was put before him is his again.
    async with res.sessions() as db:
        absence = (await authority.absences(db, agency_id=province.agency_id, on=today))[0][0]
    clock.advance(timedelta(days=1))
    async with client_for(app, ids["leader"]) as chairman:
        ended = await chairman.post(f"/absences/{absence.id}/end")
        assert ended.status_code == 303
        assert "khắc phục hậu quả lũ" in (await chairman.get("/direction")).text
    async with client_for(app, ids["deputy"]) as deputy_http:
        assert "khắc phục hậu quả lũ" not in (await deputy_http.get("/direction")).text


async def test_each_form_needs_what_the_decree_asks(app: LifespanManager, province: World) -> None:
    ids, res = province.user_ids, resources_of(app)
    await give(app, ids["admin"], ids["leader"], SignForm.HEAD)
    cases = [
        # TL. and TUQ. need their scope; TUQ. a written authorisation with an end date; Q. its
        # decision; the head one at a time.
        (ids["leader"], SignForm.TL, dict(title="Chánh Văn phòng"), "phạm vi"),
        (ids["leader"], SignForm.TUQ, dict(title="Chánh Văn phòng", types=frozenset({"CV"})),
         "thời hạn"),
        (ids["admin"], SignForm.HEAD, dict(), "đã có người đứng đầu"),
    ]  # fmt: skip
    for actor, form, extra, message in cases:
        with pytest.raises(ValidationError) as refused:
            await give(app, actor, ids["office_chief"] if form != SignForm.HEAD else ids["deputy"],
                       form, **extra)  # type: ignore[arg-type]  # fmt: skip
        assert message in refused.value.message_vi
    # The head appoints no acting head (Q.): administrators do, with the decision.
    with pytest.raises(ForbiddenError):
        await give(app, ids["leader"], ids["deputy"], SignForm.Q)
    acting = await give(app, ids["admin"], ids["deputy"], SignForm.Q, until=30)
    tuq = await give(app, ids["leader"], ids["office_chief"], SignForm.TUQ,
                     title="Chánh Văn phòng", types=frozenset({"CV"}), until=30)  # fmt: skip
    async with res.sessions() as db:
        lines = {
            row.grant.id: row.lines
            for row in await authority.grants(db, agency_id=province.agency_id,
                                              on=authority.today(res.clock))
        }  # fmt: skip
    assert lines[acting] == ["TM. ỦY BAN NHÂN DÂN", "Q. CHỦ TỊCH"]
    assert lines[tuq] == ["TUQ. CHỦ TỊCH", "CHÁNH VĂN PHÒNG"]
