"""`run.resume`: a process killed after the key produced the signature value (stored in SQL)
but before the new version was written. The handler's own steps are run up to that point —
the passkey confirmation moves the transaction to `signing`, the key signs, the value is
stored — and then nothing more, as after a SIGKILL. Past the expiry, the sweeper finishes it:
exactly one new version, valid for the signing library and pdfsig, however often it runs.
Without a stored value the transaction fails cleanly and the old version stays."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core.clock import FixedClock
from backend.core.models import AuditEntry
from backend.documents import catalogue
from backend.documents.tables import Document
from backend.signing_flow import run
from backend.signing_flow.sweeper import sweep_once
from backend.signing_flow.tables import SigningItem, SigningTransaction
from signing import verify_pdf
from tests.backend.signing_flow.conftest import Leader, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import (
    assertion,
    pdfsig_valid,
    prepare,
    verified,
    versions,
)
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def confirmed_then_killed(
    app: LifespanManager, leader: Leader, document_id: int, *, sign: bool
) -> str:
    """The passkey handler's steps up to the kill: confirmed, and (if `sign`) value stored."""
    res = resources_of(app)
    assert res.signing is not None
    tx_id = await prepare(leader, document_id)
    credential = await assertion(leader, tx_id)
    signer = await verified(app, leader, tx_id, credential)
    if sign:
        key = res.signing.keys.key(signer.username)
        await run._sign_values(res.sessions, tx_id=tx_id, key=key)
    async with res.sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id)
        item = await db.scalar(select(SigningItem).where(SigningItem.transaction_id == tx_id))
        assert tx.status == "signing" and item is not None
        assert (item.signature_value is not None) is sign
    return tx_id


async def test_a_stored_value_is_finished_once_after_the_kill(
    app: LifespanManager, leader: Leader, clock: FixedClock
) -> None:
    document_id = await make_draft(app, leader.world)
    tx_id = await confirmed_then_killed(app, leader, document_id, sign=True)
    res = resources_of(app)
    await sweep_once(res)  # not yet expired: a live process may still be finishing it
    assert len(await versions(app, document_id)) == 1

    clock.advance(timedelta(seconds=121))
    await asyncio.gather(sweep_once(res), sweep_once(res))  # two processes' sweepers at once
    await sweep_once(res)
    found = await versions(app, document_id)
    assert [v.version for v in found] == [1, 2]
    async with res.sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id)
        document = await db.get_one(Document, document_id)
        completed = list(
            await db.scalars(
                select(AuditEntry.id).where(
                    AuditEntry.action == "signing.completed", AuditEntry.object_id == tx_id
                )
            )
        )
    assert tx.status == "completed" and document.status == catalogue.Status.SIGNED
    assert len(completed) == 1
    pdf = await res.blobs.get(found[1].sha256)
    assert res.signing is not None
    report = await verify_pdf(
        pdf=pdf, trust=res.signing.pki.trust, http_session=res.signing.services.http_session
    )
    assert report.ok and len(report.signatures) == 1
    path = Path(res.settings.data_dir) / "resumed.pdf"
    path.write_bytes(pdf)
    assert await asyncio.to_thread(pdfsig_valid, path) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_without_a_stored_value_it_fails_and_the_old_version_stays(
    app: LifespanManager, leader: Leader, clock: FixedClock
) -> None:
    document_id = await make_draft(app, leader.world)
    tx_id = await confirmed_then_killed(app, leader, document_id, sign=False)
    clock.advance(timedelta(seconds=121))
    await sweep_once(resources_of(app))
    assert [v.version for v in await versions(app, document_id)] == [1]
    async with resources_of(app).sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id)
        item = await db.scalar(select(SigningItem).where(SigningItem.transaction_id == tx_id))
        document = await db.get_one(Document, document_id)
    assert tx.status == "failed" and item is not None and item.result == "failed"
    assert item.result_version_id is None
    assert document.status == catalogue.Status.DRAFT  # still in the queue, to sign again
    assert (await leader.http.get("/sign")).text.count(f'href="/sign/{document_id}"') == 1
    again = await prepare(leader, document_id)
    assert again != tx_id
