"""Phát hành with recipients: the clerk's issue page carries the recipient picker inside each
document's form, and what the clerk chose (agency codes, units of the agency) is checked and
passed on with the issue: recorded with it, and the agencies' packet queued for the axis in the
same transaction (the sending itself: tests/backend/interchange)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backend import organisations
from backend.core.audit import AuditEntry
from backend.core.jobs import Job
from backend.core.models import Agency, Role
from backend.core.settings import Settings
from backend.documents.catalogue import Status
from backend.documents.tables import Document
from backend.identity import users
from backend.interchange import connection, directory, outbox, xmlsig
from backend.interchange.tables import AxisDelivery, AxisDispatch
from backend.push.tables import PushOutbox
from backend.workflow.tables import Assignment, Part
from tests.backend.identity.conftest import browser_like, sign_in_as
from tests.backend.interchange.test_directory import PROVINCE
from tests.backend.signing_flow.conftest import Leader, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare
from tests.conftest import free_port
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # the pass-through is not about the database (tests/backend/interchange)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # An axis to send to (nothing listens: the packets wait in the outbox).
    return replace(
        settings,
        axis_url=f"http://127.0.0.1:{free_port()}/XrdAdapter/adapter",
        axis_system_id="00.53.W00",
        axis_secret="not-a-real-secret",
    )


async def test_the_chosen_recipients_are_checked_and_passed_on_with_the_issue(
    app: LifespanManager, leader: Leader
) -> None:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        await directory.sync(db, clock=res.clock, rows=PROVINCE, full=True)
        # A second unit of the agency, with its head.
        agency = await db.get_one(Agency, leader.world.agency_id)
        finance_unit = await organisations.create_unit(
            db, clock=res.clock, agency=agency, name="Phòng Tài chính", short_name="TC"
        )
        finance_head = await users.create_user(
            db,
            clock=res.clock,
            agency=agency,
            username="truongphongtc",
            full_name="Trưởng phòng Tài chính",
            roles={Role.UNIT_HEAD},
            unit=finance_unit,
        )
    document_id = await make_draft(app, leader.world)
    tx_id = await prepare(leader, document_id)
    assert (await confirm(leader, tx_id, await assertion(leader, tx_id))).status_code == 200  # type: ignore[attr-defined]
    heads = [leader.world.user_ids["unit_head"], finance_head.id]
    for head in heads:  # nothing for them before the issue
        assert await informed_list(app, head) == []

    async with app.client() as http:
        browser_like(http)
        await sign_in_as(app, http, leader.world.user_ids["clerk"])
        page = BeautifulSoup((await http.get("/issue")).text, "html.parser")
        form = page.select_one(f'form[action="/issue/{document_id}"]')
        assert form is not None
        picker = form.select_one("fieldset[data-picker]")
        assert picker is not None and picker.select_one("input[role=combobox][hx-get]")
        groups = [b["data-group"] for b in picker.select("button.picker__group")]
        assert groups == [
            "recipient-group-departments",
            "recipient-group-districts",
            "recipient-group-communes",
            "recipient-group-units",
        ]
        units = picker.select("button.picker__unit")
        assert [(u["data-field"], u["data-name"]) for u in units] == [
            ("unit", "Phòng Kinh tế"),
            ("unit", "Phòng Tài chính"),
        ]
        # Group members once per page, however many documents wait (CSS ignores <template>).
        template = page.select_one("template#recipient-group-communes")
        assert template is not None
        members = [m["value"] for m in template.find_all("input")]
        assert members == ["000.20.31.H53", "000.20.32.H53", "000.21.32.H53"]

        # A code the picker never offered (a system code): nothing is issued.
        refused = await http.post(f"/issue/{document_id}", data={"recipient": ["00.53.W00"]})
        assert refused.status_code == 422
        assert "Không tìm thấy nơi nhận: 00.53.W00" in refused.text

        # Nothing of this agency went over the axis yet: nothing to replace (type 3).
        assert form.select_one("select[name=replaces]") is None
        replacing = await http.post(
            f"/issue/{document_id}", data={"recipient": ["000.00.11.H53"], "replaces": "999999"}
        )
        assert replacing.status_code == 422
        assert "Văn bản được thay thế phải là" in replacing.text

        chosen = {
            "recipient": ["000.00.11.h53", "000.00.00.G12", "000.00.11.H53"],
            "unit": [str(u["data-value"]) for u in units],
            "q": "tai chinh",  # the picker's search box travels with the form: ignored
        }
        issued = await http.post(f"/issue/{document_id}", data=chosen)
        assert issued.status_code == 303, issued.text

    async with res.sessions() as db:
        document = await db.get_one(Document, document_id)
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "document.issued"))
    assert document.status == Status.ISSUED
    assert entry is not None
    assert entry.detail["send_to"] == {
        "agencies": ["000.00.11.H53", "000.00.00.G12"],
        "units": [int(str(u["data-value"])) for u in units],
    }
    # Each unit received it "để biết": its head sees it in their list and was told by push.
    for head in heads:
        assert await informed_list(app, head) == [document_id]
    async with res.sessions() as db:
        hops = list(
            await db.scalars(select(Assignment).where(Assignment.document_id == document_id))
        )
        told = set(await db.scalars(select(PushOutbox.user_id)))
    assert sorted((h.part, h.unit_id) for h in hops) == sorted(
        (Part.INFORM.value, int(str(u["data-value"]))) for u in units
    )
    assert set(heads) <= told
    assert document.status == Status.ISSUED  # informing is not routing
    async with res.sessions() as db:
        queued = {
            d.recipient_code: d.state
            for d in await db.scalars(
                select(AxisDelivery).where(AxisDelivery.document_id == document_id)
            )
        }
        send_jobs = list(await db.scalars(select(Job.kind).where(Job.kind == outbox.SEND_JOB)))
    assert queued == {"000.00.11.H53": "queued", "000.00.00.G12": "queued"}
    assert send_jobs == [outbox.SEND_JOB]
    # The packet is signed with the seal key that sealed the PDF, its chain in KeyInfo.
    async with res.sessions() as db:
        dispatch = await db.scalar(
            select(AxisDispatch).where(AxisDispatch.document_id == document_id)
        )
    assert dispatch is not None and res.signing is not None
    seal = xmlsig.verify_packet(
        await res.blobs.get(dispatch.packet_sha256),
        trusted=list(res.signing.pki.trust.trust_roots),
    )
    assert seal.state is xmlsig.SignatureState.VALID and seal.trusted
    assert seal.subject == dispatch.signed_by == xmlsig.subject_of(res.signing.pki.seal_cert)


async def informed_list(app: LifespanManager, user_id: int) -> list[int]:
    """The documents in a person's "Để biết" list."""
    async with app.client() as http:
        browser_like(http)
        await sign_in_as(app, http, user_id)
        response = await http.get("/documents?inbox=de-biet")
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    return [int(str(li["data-id"])) for li in page.select("#doclist li.docitem")]


async def test_without_an_axis_agencies_cannot_be_chosen(
    app: LifespanManager, leader: Leader, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        await directory.sync(db, clock=res.clock, rows=PROVINCE, full=True)
    document_id = await make_draft(app, leader.world)
    tx_id = await prepare(leader, document_id)
    assert (await confirm(leader, tx_id, await assertion(leader, tx_id))).status_code == 200  # type: ignore[attr-defined]
    unconfigured = replace(res.settings, axis_url="", axis_system_id="", axis_secret="")
    assert not connection.configured(unconfigured)
    # This server's settings as if the axis were not configured.
    monkeypatch.setattr(connection, "configured", lambda settings: False)
    async with app.client() as http:
        browser_like(http)
        await sign_in_as(app, http, leader.world.user_ids["clerk"])
        refused = await http.post(f"/issue/{document_id}", data={"recipient": ["000.00.11.H53"]})
    assert refused.status_code == 422
    assert "chưa kết nối Trục liên thông" in refused.text
    async with res.sessions() as db:
        assert (await db.get_one(Document, document_id)).status == Status.SIGNED
