"""The SIM poller survives its process: server A queues a SIM batch of two documents, sends the
first request to the phone and is killed with SIGKILL before the PIN is entered; the leader
confirms on the virtual phone; server B's job runner finds the poll job whose lease lapsed,
takes it over (the MSSP's transaction id is in SQL) and finishes it — exactly one signature,
valid for pdfsig — then carries the batch on from SQL: the second document's request reaches
the phone from B and is signed too.

The MSSP simulator runs in its own process (`eoffice mssp-sim`) so that it outlives server A."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import db as db_mod
from backend.core.blobs import FileBlobStore
from backend.core.clock import SystemClock
from backend.core.jobs import Job
from backend.core.models import AuditEntry, User
from backend.core.settings import Settings
from backend.documents.tables import DocumentFile, FileVersion
from backend.signing_flow import authority, sim
from backend.signing_flow.tables import (
    SignForm,
    SigningBatch,
    SigningBatchItem,
    SigningTransaction,
)
from backend.web.app import create_app
from signing import make_sample_pdf
from tests.backend.identity.conftest import browser_like, seed_world, sign_in_as
from tests.backend.signing_flow.conftest import make_draft, resources_of
from tests.conftest import free_port
from tests.support.lifespan import LifespanManager
from tests.support.process_server import ROOT, ProcessServer, env_for

pytestmark = pytest.mark.anyio
PHONE = "+84912345678"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def sim_port() -> int:
    return free_port()


@pytest.fixture
def proc_settings(settings: Settings, sim_port: int) -> Settings:
    # A short job lease, so that B's takeover comes soon after A's death.
    return replace(settings, mssp_url=f"http://127.0.0.1:{sim_port}", jobs_lease_seconds=4)


@pytest.fixture
def simulator(proc_settings: Settings, sim_port: int) -> Iterator[subprocess.Popen[bytes]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        with (proc_settings.data_dir / "mssp-sim.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "backend", "mssp-sim", "--port", str(sim_port)],
                env=env_for(proc_settings),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", sim_port), timeout=0.2):
                    return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the MSSP simulator did not start")

    yield start  # type: ignore[misc]
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


async def until_awaiting(
    sessions: async_sessionmaker[AsyncSession], document_id: int
) -> SigningTransaction:
    for _ in range(120):
        async with sessions() as db:
            tx = await db.scalar(
                select(SigningTransaction)
                .join(SigningBatchItem, SigningBatchItem.transaction_id == SigningTransaction.id)
                .where(SigningBatchItem.document_id == document_id)
            )
            if tx is not None and tx.status == "awaiting":
                return tx
        await asyncio.sleep(0.25)
    raise AssertionError("the second document was never sent")


async def running_poll(sessions: async_sessionmaker[AsyncSession], tx_id: str) -> Job:
    for _ in range(120):
        async with sessions() as db:
            for job in await db.scalars(select(Job).where(Job.kind == sim.POLL_JOB)):
                if job.payload["transaction"] == tx_id and job.status == "running":
                    return job
        await asyncio.sleep(0.25)
    raise AssertionError("no runner took the poll job")


async def versions_of(sessions: async_sessionmaker[AsyncSession], document_id: int) -> list[int]:
    async with sessions() as db:
        return list(
            await db.scalars(
                select(FileVersion.version)
                .join(DocumentFile, DocumentFile.id == FileVersion.file_id)
                .where(DocumentFile.document_id == document_id)
                .order_by(FileVersion.version)
            )
        )


async def test_sim_poller_of_a_killed_process_is_taken_over_by_another(
    proc_settings: Settings, simulator: object
) -> None:
    # Seed with an in-process app, then close it: its own runner must not be the one to resume.
    async with LifespanManager(create_app(proc_settings)) as app:
        world = await seed_world(app, resources_of(app).clock)
        res = resources_of(app)
        async with res.sessions() as db, db.begin():
            (await db.get_one(User, world.user_ids["leader"])).phone = PHONE
        first = await make_draft(app, world, subject="Quyết định khen thưởng")
        second = await make_draft(app, world, subject="Quyết định điều động")
        async with app.client(proc_settings.origin) as http:
            await sign_in_as(app, http, world.user_ids["leader"])
            cookie = str(http.cookies.get(proc_settings.session_cookie))
    await asyncio.to_thread(simulator)  # type: ignore[arg-type]

    port_a, port_b = free_port(), free_port()
    a = ProcessServer(replace(proc_settings, base_url=f"http://localhost:{port_a}"), port_a)
    b = ProcessServer(replace(proc_settings, base_url=f"http://localhost:{port_b}"), port_b)
    engine = db_mod.create_engine(proc_settings.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        await asyncio.to_thread(a.start)
        async with httpx.AsyncClient(
            base_url=a.url,
            timeout=60,
            cookies={a.settings.session_cookie: cookie},
            headers={"Origin": a.url, "Sec-Fetch-Site": "same-origin"},
        ) as http:
            sent = await http.post(
                "/sign/transactions",
                data={"document_id": [str(first), str(second)], "method": "sim"},
            )
        assert sent.status_code == 200, sent.text
        code = re.search(r'<strong class="code simbatch__code"[^>]*>(\d+)<', sent.text)
        assert code is not None
        async with sessions() as db:
            tx_id = str(
                await db.scalar(
                    select(SigningBatchItem.transaction_id).where(
                        SigningBatchItem.document_id == first
                    )
                )
            )
        # A's runner has claimed the poll job (it is kicked at the commit): then A dies, before
        # the PIN is entered.
        poll = await running_poll(sessions, tx_id)
        await asyncio.to_thread(a.kill)
        async with sessions() as db:
            tx = await db.get_one(SigningTransaction, tx_id)
            poll = await db.get_one(Job, poll.id, populate_existing=True)
        assert tx.status == "awaiting" and tx.mss_trans_id
        assert poll.status == "running" and poll.attempts == 1
        assert poll.lease_owner and poll.lease_until is not None

        # The leader confirms on the phone while no server polls.
        phone = f"{proc_settings.mssp_url}/phone/{PHONE}"
        async with httpx.AsyncClient(timeout=20) as http:
            page = (await http.get(phone)).text
            assert f"<strong>{code.group(1)}</strong>" in page  # the code the leader saw
            answered = await http.post(
                f"{phone}/answer",
                data={"transaction": tx.mss_trans_id, "pin": "1234", "action": "confirm"},
            )
            assert answered.status_code in (200, 303), answered.text
        # Wait out A's lease, then B starts: its runner takes the poll job over.
        lapse = poll.lease_until - datetime.now(UTC)
        await asyncio.sleep(max(0.0, lapse.total_seconds()) + 0.2)
        await asyncio.to_thread(b.start)
        status = ""
        for _ in range(120):
            async with sessions() as db:
                status = str(
                    await db.scalar(
                        select(SigningTransaction.status).where(SigningTransaction.id == tx_id)
                    )
                )
            if status in ("completed", "failed", "expired"):
                break
            await asyncio.sleep(0.25)
        assert status == "completed", b.log.read_text()[-3000:]

        # B sends the second document to the phone: the queue went on from SQL.
        second_tx = await until_awaiting(sessions, second)
        async with httpx.AsyncClient(timeout=20) as http:
            assert f"<strong>{second_tx.control_code}</strong>" in (await http.get(phone)).text
            answer = {"transaction": second_tx.mss_trans_id, "pin": "1234", "action": "confirm"}
            await http.post(f"{phone}/answer", data=answer)
        for _ in range(120):
            async with sessions() as db:
                done = await db.get_one(SigningBatch, str(tx.batch_id), populate_existing=True)
                if done.status == "finished":
                    break
            await asyncio.sleep(0.25)
        assert done.status == "finished"

        async with sessions() as db:
            versions = list(
                await db.scalars(
                    select(FileVersion)
                    .join(DocumentFile, DocumentFile.id == FileVersion.file_id)
                    .where(DocumentFile.document_id == first)
                    .order_by(FileVersion.version)
                )
            )
            taken = list(
                await db.scalars(
                    select(AuditEntry.detail).where(
                        AuditEntry.action == "signing.poller_reattached",
                        AuditEntry.object_id == tx_id,
                    )
                )
            )
            taken_poll = await db.get_one(Job, poll.id, populate_existing=True)
        assert [v.version for v in versions] == [1, 2]  # exactly one new, signed version
        second_versions = await versions_of(sessions, second)
        assert second_versions == [1, 2]
        # Taken over once, by another process than A, and done there on its second attempt.
        assert len(taken) == 1 and taken[0]["owner"] != poll.lease_owner
        assert taken[0]["attempt"] == 2
        assert taken_poll.status == "done" and taken_poll.attempts == 2
        pdf = await FileBlobStore(proc_settings.data_dir / "blobs").get(versions[1].sha256)
        path = Path(proc_settings.data_dir) / "taken-over.pdf"
        path.write_bytes(pdf)
        out = await asyncio.to_thread(
            subprocess.run, ["pdfsig", str(path)], capture_output=True, text=True, check=False
        )
        assert out.stdout.count("Signature is Valid") == 1, out.stdout
    finally:
        a.stop()
        b.stop()
        await engine.dispose()


async def test_a_grant_revoked_while_the_sim_awaits_the_pin_signs_nothing(
    proc_settings: Settings, simulator: object
) -> None:
    """Who signs for whom, on the real SIM path: the leader signs as the head under a grant, the
    request reaches the phone, the grant is revoked before the PIN; the PIN is entered (the
    MSSP answers with the signature), and eOffice refuses to embed it: nothing is signed."""
    async with LifespanManager(create_app(proc_settings)) as app:
        world = await seed_world(app, resources_of(app).clock)
        res = resources_of(app)
        async with res.sessions() as db, db.begin():
            (await db.get_one(User, world.user_ids["leader"])).phone = PHONE
            head = await authority.give(
                db, clock=res.clock, actor=await db.get_one(User, world.user_ids["admin"]),
                form=authority.GrantForm(
                    user_id=world.user_ids["leader"], form=SignForm.HEAD, title="Chủ tịch",
                    head_title="Chủ tịch", types=frozenset(), valid_from=None,
                    valid_until=None, decision_ref="",
                ),
            )  # fmt: skip
            head_id = head.id
        async with app.client(proc_settings.origin) as http:
            browser_like(http).headers["Origin"] = proc_settings.origin
            await sign_in_as(app, http, world.user_ids["specialist"])
            sent = await http.post(
                "/drafts",
                data={"type_code": "QD", "subject": "Quyết định khen thưởng", "urgency": "0",
                      "signer_id": f"g{head_id}"},
                files={"pdf": ("qd.pdf", make_sample_pdf(signer_name="Người leader",
                                                          signer_lines=("CHỦ TỊCH",)),
                               "application/pdf")},
            )  # fmt: skip
            assert sent.status_code == 303, sent.text
            document = int(sent.headers["location"].split("sent=")[1])
            http.cookies.clear()
            await sign_in_as(app, http, world.user_ids["leader"])
            cookie = str(http.cookies.get(proc_settings.session_cookie))
    await asyncio.to_thread(simulator)  # type: ignore[arg-type]
    port = free_port()
    server = ProcessServer(replace(proc_settings, base_url=f"http://localhost:{port}"), port)
    engine = db_mod.create_engine(proc_settings.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(
            base_url=server.url, timeout=60, cookies={proc_settings.session_cookie: cookie},
            headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"},
        ) as http:  # fmt: skip
            started = await http.post("/sign/sim", data={"document_id": [str(document)]})
        assert started.status_code == 200, started.text
        async with sessions() as db:
            tx = await db.scalar(select(SigningTransaction))
            assert tx is not None and tx.status == "awaiting" and tx.mss_trans_id
        # The grant is revoked while the phone waits for the PIN.
        async with sessions() as db, db.begin():
            admin = await db.get_one(User, world.user_ids["admin"])
            await authority.revoke(
                db, clock=SystemClock(), actor=admin, grant_id=head_id, reason="Hết nhiệm kỳ"
            )
        phone = f"{proc_settings.mssp_url}/phone/{PHONE}"
        async with httpx.AsyncClient(timeout=20) as http:
            answered = await http.post(
                f"{phone}/answer",
                data={"transaction": tx.mss_trans_id, "pin": "1234", "action": "confirm"},
            )
            assert answered.status_code in (200, 303), answered.text
        status = ""
        for _ in range(120):
            async with sessions() as db:
                found = await db.get_one(SigningTransaction, tx.id, populate_existing=True)
                status = found.status
                error = found.items[0].error if found.items else ""
            if status in ("completed", "failed", "expired"):
                break
            await asyncio.sleep(0.25)
        assert status == "failed", server.log.read_text()[-3000:]
        assert "thu hồi" in error
        assert await versions_of(sessions, document) == [1]
    finally:
        server.stop()
        await engine.dispose()
