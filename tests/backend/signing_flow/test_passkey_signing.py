"""The leader signs a draft with the server-held key, confirmed by a passkey whose challenge
commits to exactly that data; replays, mismatches and expired confirmations sign nothing."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.core.clock import FixedClock
from backend.core.models import AuditEntry, User
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.signing_flow import confirm as confirmation
from backend.signing_flow import transactions
from backend.signing_flow.sweeper import sweep_once
from backend.signing_flow.tables import SigningTransaction
from backend.web.views.auth import relying_party
from signing import verify_pdf
from tests.backend.signing_flow.conftest import Leader, make_draft, resources_of
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


def pdfsig_valid(path: Path) -> int:
    """How many signatures poppler's pdfsig calls valid."""
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return out.stdout.count("Signature is Valid")


async def prepare(leader: Leader, *document_ids: int) -> str:
    response = await leader.http.post(
        "/sign/transactions",
        data={"document_id": [str(d) for d in document_ids], "method": "passkey"},
    )
    assert response.status_code == 200, response.text
    tx_id = response.text.split('data-tx="')[1].split('"')[0]
    return tx_id


async def assertion(leader: Leader, tx_id: str) -> dict[str, object]:
    options = await leader.http.post(f"/sign/transactions/{tx_id}/passkey-options")
    assert options.status_code == 200, options.text
    return leader.authenticator.get(options.json())


async def confirm(leader: Leader, tx_id: str, credential: dict[str, object]) -> object:
    return await leader.http.post(
        f"/sign/transactions/{tx_id}/passkey",
        json={"credential": credential},
        headers={"Accept": "application/json"},
    )


async def verified(
    app: LifespanManager, leader: Leader, tx_id: str, credential: dict[str, object]
) -> User:
    """The passkey handler's first step, in-process: the confirmation checked and recorded.
    Returns the signer."""
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        signer = await db.get_one(User, leader.world.user_ids["leader"])
        await confirmation.verify_passkey(
            db,
            res.redis,
            clock=res.clock,
            rp=relying_party(res.settings),
            tx_id=tx_id,
            signer=signer,
            credential=credential,
            ip="127.0.0.1",
        )
    return signer


async def versions(app: LifespanManager, document_id: int) -> list[FileVersion]:
    async with resources_of(app).sessions() as db:
        return list(
            await db.scalars(
                select(FileVersion)
                .join(DocumentFile, DocumentFile.id == FileVersion.file_id)
                .where(DocumentFile.document_id == document_id)
                .order_by(FileVersion.version)
            )
        )


async def test_leader_signs_once_and_the_pdf_validates(
    app: LifespanManager, leader: Leader
) -> None:
    document_id = await make_draft(app, leader.world)
    queue = await leader.http.get("/sign")
    assert "Kế hoạch phòng chống lụt bão 2026" in queue.text
    tx_id = await prepare(leader, document_id)
    # A double tap or a second tab gets the same transaction, not a second one.
    assert await prepare(leader, document_id) == tx_id
    credential = await assertion(leader, tx_id)
    done = await confirm(leader, tx_id, credential)
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    assert done.json()["status"] == "completed"  # type: ignore[attr-defined]
    # The same assertion again (a replay, or the retry of a dropped response) signs nothing.
    again = await confirm(leader, tx_id, credential)
    assert again.status_code == 400  # type: ignore[attr-defined]
    found = await versions(app, document_id)
    assert [v.version for v in found] == [1, 2]

    res = resources_of(app)
    signed = await res.blobs.get(found[1].sha256)
    assert res.signing is not None
    report = await verify_pdf(
        pdf=signed, trust=res.signing.pki.trust, http_session=res.signing.services.http_session
    )
    assert report.ok, report.summary_en
    assert [s.signer_name for s in report.signatures] == ["Người leader"]
    path = res.settings.data_dir / "signed.pdf"
    path.write_bytes(signed)
    assert await asyncio.to_thread(pdfsig_valid, path) == 1

    async with res.sessions() as db:
        document = await db.get_one(Document, document_id)
        assert document.status == "signed"
        assert document.signature_check["status"] == "valid"
        actions = list(await db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    for step in (
        "document.drafted",
        "signing.prepared",
        "signing.confirmation_requested",
        "signing.confirmed",
        "document.signed",
        "signing.completed",
        "signing.confirmation_refused",
    ):
        assert step in actions
    assert (await leader.http.get("/sign")).text.count("lụt bão") == 0


async def test_a_confirmation_for_another_transaction_is_refused(
    app: LifespanManager, leader: Leader
) -> None:
    first = await prepare(leader, await make_draft(app, leader.world, subject="Văn bản một"))
    second_doc = await make_draft(app, leader.world, subject="Văn bản hai")
    second = await prepare(leader, second_doc)
    credential = await assertion(leader, first)
    await assertion(leader, second)
    refused = await confirm(leader, second, credential)
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert [v.version for v in await versions(app, second_doc)] == [1]
    async with resources_of(app).sessions() as db:
        tx = await db.get_one(SigningTransaction, second)
        assert tx.status == "awaiting"


async def test_an_expired_confirmation_signs_nothing_and_the_sweeper_expires(
    app: LifespanManager, leader: Leader, clock: FixedClock
) -> None:
    document_id = await make_draft(app, leader.world)
    tx_id = await prepare(leader, document_id)
    credential = await assertion(leader, tx_id)
    clock.advance(timedelta(seconds=121))
    late = await confirm(leader, tx_id, credential)
    assert late.status_code == 409  # type: ignore[attr-defined]
    assert [v.version for v in await versions(app, document_id)] == [1]

    other = await prepare(leader, await make_draft(app, leader.world, subject="Hai"))
    clock.advance(timedelta(seconds=121))
    await sweep_once(resources_of(app))
    async with resources_of(app).sessions() as db:
        statuses = dict(
            (await db.execute(select(SigningTransaction.id, SigningTransaction.status))).all()
        )
    assert statuses == {tx_id: "expired", other: "expired"}


async def test_unverified_user_is_refused(app: LifespanManager, leader: Leader) -> None:
    tx_id = await prepare(leader, await make_draft(app, leader.world))
    options = await leader.http.post(f"/sign/transactions/{tx_id}/passkey-options")
    credential = leader.authenticator.get(options.json(), user_verified=False)
    refused = await confirm(leader, tx_id, credential)
    assert refused.status_code == 400  # type: ignore[attr-defined]


async def test_a_transaction_left_in_signing_never_leaves_a_half_signed_version(
    app: LifespanManager, leader: Leader, clock: FixedClock
) -> None:
    """As if the process died right after the confirmation moved it to `signing`."""
    document_id = await make_draft(app, leader.world)
    tx_id = await prepare(leader, document_id)
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        await transactions.move(db, tx_id, clock=clock, from_states=("prepared",), to="signing")
    clock.advance(timedelta(seconds=121))
    await sweep_once(res)
    async with res.sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id)
        count = await db.scalar(select(func.count()).select_from(FileVersion))
    assert tx.status == "failed"
    assert [v.version for v in await versions(app, document_id)] == [1]
    assert count is not None
