"""Batch signing: one passkey confirmation whose challenge commits to the sorted list of all
the documents' DTBS hashes; each document gets its own signature; one failure undoes nothing."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.core.clock import FixedClock
from backend.core.jobs import Job
from backend.documents import catalogue
from backend.documents.tables import Document
from backend.push import payloads
from backend.signing_flow import results, run, transactions
from backend.signing_flow.sweeper import sweep_once
from backend.signing_flow.tables import SigningTransaction
from signing import verify_pdf
from tests.backend.signing_flow.conftest import Leader, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import (
    assertion,
    confirm,
    prepare,
    verified,
    versions,
)
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_ten_documents_one_confirmation_one_failure_undoes_nothing(
    app: LifespanManager, leader: Leader
) -> None:
    ids = [await make_draft(app, leader.world, subject=f"Văn bản số {n}") for n in range(10)]
    tx_id = await prepare(leader, *ids)
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        tx = await db.get_one(SigningTransaction, tx_id)
        hashes = [i.dtbs_hash for i in tx.items]
        assert len(set(hashes)) == 10
        assert tx.dtbs_digest == transactions.digest_of(hashes)
        assert bytes.fromhex(tx.challenge) == transactions.expected_challenge(tx)
        # Someone returns one draft by another way meanwhile: that one must fail alone.
        (await db.get_one(Document, ids[3])).status = "02"
    done = await confirm(leader, tx_id, await assertion(leader, tx_id))
    body = done.json()  # type: ignore[attr-defined]
    assert body["status"] == "completed"
    outcome = {d["id"]: d["result"] for d in body["documents"]}
    assert outcome.pop(ids[3]) == "failed"
    assert set(outcome.values()) == {"signed"}
    assert res.signing is not None
    for document_id in ids:
        found = await versions(app, document_id)
        assert len(found) == (1 if document_id == ids[3] else 2)
    last = await res.blobs.get((await versions(app, ids[-1]))[-1].sha256)
    report = await verify_pdf(
        pdf=last, trust=res.signing.pki.trust, http_session=res.signing.services.http_session
    )
    assert report.ok and report.signatures[0].pades_level == "B-LT"
    # The panels were not checked during the batch: a job of the app's runner checks them.
    deadline = time.monotonic() + 60
    while True:
        async with res.sessions() as db:
            job = await db.scalar(select(Job).where(Job.kind == results.CHECK_JOB))
        if job is not None and job.status == "done":
            break
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)
    assert len(job.payload["items"]) == 10  # every item; the failed one has nothing to check
    async with res.sessions() as db:
        checks = {
            d.id: d.signature_check
            for d in await db.scalars(select(Document).where(Document.id.in_(ids)))
        }
    for document_id, check in checks.items():
        if document_id != ids[3]:
            assert check["status"] == "valid", check


async def test_more_than_fifty_is_refused(app: LifespanManager, leader: Leader) -> None:
    response = await leader.http.post(
        "/sign/transactions", data={"document_id": [str(n) for n in range(1, 52)]}
    )
    assert response.status_code == 409


async def test_an_error_storing_one_version_leaves_it_to_resume_and_stores_the_others(
    app: LifespanManager, leader: Leader, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [await make_draft(app, leader.world, subject=f"Văn bản số {n}") for n in range(3)]
    tx_id = await prepare(leader, *ids)
    credential = await assertion(leader, tx_id)
    res = resources_of(app)
    assert res.signing is not None
    await verified(app, leader, tx_id, credential)
    real = payloads.signed

    def failing(**notice: Any) -> payloads.Notice:
        if notice["document_id"] == ids[1]:
            raise RuntimeError("the notice could not be made")
        return real(**notice)

    # Fails inside the middle item's savepoint, after its new version was flushed.
    monkeypatch.setattr(payloads, "signed", failing)
    with pytest.raises(RuntimeError, match="notice could not be made"):
        await run.execute(
            res.sessions,
            res.redis,
            clock=res.clock,
            blobs=res.blobs,
            setup=res.signing,
            tx_id=tx_id,
        )
    assert [len(await versions(app, i)) for i in ids] == [2, 1, 2]
    async with res.sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id)
        items = {i.document_id: i for i in tx.items}
        statuses = {
            d.id: d.status for d in await db.scalars(select(Document).where(Document.id.in_(ids)))
        }
    assert tx.status == "signing"
    left = items[ids[1]]
    assert left.result == "pending" and left.result_version_id is None
    assert left.signature_value is not None  # what `resume` finishes from
    assert statuses[ids[1]] == catalogue.Status.DRAFT
    assert {items[ids[0]].result, items[ids[2]].result} == {"signed"}

    monkeypatch.undo()
    clock.advance(timedelta(seconds=121))
    await sweep_once(res)
    assert [len(await versions(app, i)) for i in ids] == [2, 2, 2]
    async with res.sessions() as db:
        tx = await db.get_one(SigningTransaction, tx_id)
        assert tx.status == "completed"
        assert {i.result for i in tx.items} == {"signed"}
