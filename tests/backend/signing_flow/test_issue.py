"""The clerk issues a signed outgoing document: number and date from the register, filled into
the document, the agency's seal signature — and the leader's signature stays valid."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from backend.core.audit import AuditEntry
from backend.documents.tables import Document, FileVersion
from backend.push.tables import PushOutbox
from backend.signing_flow import archive
from signing import archive_horizon, verify_pdf
from tests.backend.identity.conftest import browser_like, sign_in_as
from tests.backend.signing_flow.conftest import Leader, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare, versions
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


def pdfsig_valid(path: Path) -> int:
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return out.stdout.count("Signature is Valid")


async def test_clerk_numbers_seals_and_issues_keeping_the_leaders_signature_valid(
    app: LifespanManager, leader: Leader
) -> None:
    document_id = await make_draft(app, leader.world)
    tx_id = await prepare(leader, document_id)
    done = await confirm(leader, tx_id, await assertion(leader, tx_id))
    assert done.status_code == 200  # type: ignore[attr-defined]

    async with app.client() as http:
        browser_like(http)
        await sign_in_as(app, http, leader.world.user_ids["clerk"])
        listing = await http.get("/issue")
        assert "Kế hoạch phòng chống lụt bão 2026" in listing.text
        issued = await http.post(f"/issue/{document_id}")
        assert issued.status_code == 303, issued.text
        again = await http.post(f"/issue/{document_id}")  # a second click issues nothing more
        assert again.status_code == 422
        assert isinstance(again, httpx.Response)

    res = resources_of(app)
    found = await versions(app, document_id)
    assert [v.version for v in found] == [1, 2, 3]
    # The author hears of it (push, committed with the issue); open lists refresh (SSE).
    async with res.sessions() as db:
        notices = list(
            await db.scalars(
                select(PushOutbox).where(PushOutbox.user_id == leader.world.user_ids["specialist"])
            )
        )
    titles = [str(n.payload["title"]) for n in notices]
    assert [t for t in titles if t.startswith("Đã phát hành")] == [
        "Đã phát hành văn bản số 01/KH-VP"
    ]
    for person in ("specialist", "clerk"):
        events = await res.redis.xrange(f"live-stream:{leader.world.user_ids[person]}")
        assert any(f[b"event"] == b"document" and b'"issued"' in f[b"data"] for _i, f in events)
    sealed = await res.blobs.get(found[2].sha256)
    assert res.signing is not None
    report = await verify_pdf(
        pdf=sealed, trust=res.signing.pki.trust, http_session=res.signing.services.http_session
    )
    assert report.ok, report.summary_en
    leader_sig, seal = report.signatures
    assert leader_sig.signer_name == "Người leader" and leader_sig.certification
    assert leader_sig.docmdp_ok and leader_sig.modification_level == "FORM_FILLING"
    # B-LTA: validation data and a document timestamp after the seal, allowed by its lock.
    assert seal.field_name == "chu_ky_co_quan" and seal.ok and seal.pades_level == "B-LTA"
    assert report.document_timestamps == 1
    assert found[2].archive_until is not None
    assert found[2].archive_until == archive_horizon(pdf=sealed)
    assert found[2].archive_until > found[2].created_at + timedelta(days=365)
    path = res.settings.data_dir / "issued.pdf"
    path.write_bytes(sealed)
    assert await asyncio.to_thread(pdfsig_valid, path) == 2

    async with res.sessions() as db:
        document = await db.get_one(Document, document_id)
    assert document.status == "issued"
    assert document.number_symbol == "01/KH-VP"
    assert document.recipients == "Các sở, ban, ngành"
    assert document.register_number == 1

    # Archival renewal: nothing is due today…
    services = res.signing.services
    assert (
        await archive.renew_due(res.sessions, blobs=res.blobs, services=services, clock=res.clock)
        == 0
    )
    # …until the newest timestamp's horizon comes within the margin (as if its TSA certificate
    # ended next month): a new version with a second document timestamp.
    soon = datetime.now(UTC) + timedelta(days=30)
    async with res.sessions() as db, db.begin():
        (await db.get_one(FileVersion, found[2].id)).archive_until = soon
    assert (
        await archive.renew_due(res.sessions, blobs=res.blobs, services=services, clock=res.clock)
        == 1
    )
    renewed = await versions(app, document_id)
    assert [v.version for v in renewed] == [1, 2, 3, 4]
    assert renewed[3].reason.startswith("gia hạn dấu thời gian lưu trữ")
    assert renewed[2].archive_until is None and renewed[3].archive_until is not None
    kept = await res.blobs.get(renewed[3].sha256)
    assert kept.startswith(sealed)  # appended: every earlier byte and signature unchanged
    report = await verify_pdf(
        pdf=kept, trust=res.signing.pki.trust, http_session=services.http_session
    )
    assert report.ok and report.document_timestamps == 2, report.summary_en
    # Eight years on, offline, every OCSP response long expired: valid from the file alone.
    later = await verify_pdf(
        pdf=kept, trust=res.signing.pki.trust, at=datetime.now(UTC) + timedelta(days=365 * 8)
    )
    assert later.ok, later.summary_en
    assert {s.reason for s in later.signatures} == {"long_term"}
    # A renewal that cannot push the horizon further (same TSA certificate) is not stored.
    done = await archive.renew_due(
        res.sessions,
        blobs=res.blobs,
        services=services,
        clock=res.clock,
        margin=timedelta(days=365 * 20),
    )
    assert done == 0 and len(await versions(app, document_id)) == 4
    async with res.sessions() as db:
        actions = list(await db.scalars(select(AuditEntry.action)))
    assert actions.count("archive.renewed") == 1
    assert actions.count("archive.renewal_ineffective") == 1
