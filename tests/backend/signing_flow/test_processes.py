"""Across server processes: a server killed with SIGKILL between prepare and finish leaves the
document unchanged and the transaction resumable (or expired, later); an event published in one
process reaches an SSE client of another through Redis. The server processes sign with the
leader's key on a SoftHSM token (PKCS#11)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from backend.core import live
from backend.core.settings import Settings
from backend.documents.tables import DocumentFile, FileVersion
from backend.signing_flow.sweeper import sweep_once
from backend.signing_flow.tables import SigningTransaction
from backend.web.app import create_app
from tests.backend.identity.conftest import World, enrol, invite, seed_world, sign_in_as
from tests.backend.signing_flow.conftest import make_draft, resources_of
from tests.conftest import free_port
from tests.support.authenticator import SoftAuthenticator
from tests.support.lifespan import LifespanManager
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def proc_settings(settings: Settings, port: int) -> Settings:
    return replace(settings, base_url=f"http://localhost:{port}")


@pytest.fixture
async def home(
    proc_settings: Settings,
) -> AsyncIterator[tuple[LifespanManager, World, SoftAuthenticator, str]]:
    """An in-process app on the same database and Redis: seeds people, enrols the leader's
    passkey and opens their session (sessions live in Redis, so every process accepts it)."""
    async with LifespanManager(create_app(proc_settings)) as app:
        world = await seed_world(app, resources_of(app).clock)
        authenticator = SoftAuthenticator(origin=proc_settings.origin)
        async with app.client(proc_settings.origin) as http:
            http.headers.update({"Origin": proc_settings.origin, "Sec-Fetch-Site": "same-origin"})
            assert (
                await enrol(http, await invite(app, world.user_ids["leader"]), authenticator)
            ).status_code == 200
            http.cookies.clear()
            await sign_in_as(app, http, world.user_ids["leader"])
            cookie = http.cookies.get(proc_settings.session_cookie)
        assert cookie is not None
        yield app, world, authenticator, cookie


def client(server: ProcessServer, cookie: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        timeout=60,
        headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"},
        cookies={server.settings.session_cookie: cookie},
    )


@pytest.fixture
def server(proc_settings: Settings, port: int) -> Iterator[ProcessServer]:
    server = ProcessServer(proc_settings, port)
    yield server
    server.stop()


async def versions_of(app: LifespanManager, document_id: int) -> list[int]:
    async with resources_of(app).sessions() as db:
        return list(
            await db.scalars(
                select(FileVersion.version)
                .join(DocumentFile, DocumentFile.id == FileVersion.file_id)
                .where(DocumentFile.document_id == document_id)
            )
        )


def prepare(http: httpx.Client, document_id: int) -> str:
    response = http.post("/sign/transactions", data={"document_id": str(document_id)})
    assert response.status_code == 200, response.text
    return response.text.split('data-tx="')[1].split('"')[0]


async def test_killed_between_prepare_and_finish_then_resumed(
    home: tuple[LifespanManager, World, SoftAuthenticator, str], server: ProcessServer
) -> None:
    app, world, authenticator, cookie = home
    document_id = await make_draft(app, world)
    await asyncio.to_thread(server.start)
    with client(server, cookie) as http:
        tx_id = prepare(http, document_id)
        options = http.post(f"/sign/transactions/{tx_id}/passkey-options").json()
    await asyncio.to_thread(server.kill)
    assert await versions_of(app, document_id) == [1]  # nothing half-done

    await asyncio.to_thread(server.start)  # a fresh process: nothing in memory survives
    with client(server, cookie) as http:
        assert prepare(http, document_id) == tx_id  # the durable transaction is picked up
        credential = authenticator.get(options)
        done = http.post(f"/sign/transactions/{tx_id}/passkey", json={"credential": credential})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
        replay = http.post(f"/sign/transactions/{tx_id}/passkey", json={"credential": credential})
        assert replay.status_code == 400
    assert sorted(await versions_of(app, document_id)) == [1, 2]
    async with resources_of(app).sessions() as db:
        sha = await db.scalar(select(FileVersion.sha256).where(FileVersion.version == 2))
    assert sha is not None
    path = Path(resources_of(app).settings.data_dir) / "killed-then-signed.pdf"
    path.write_bytes(await resources_of(app).blobs.get(sha))
    out = await asyncio.to_thread(
        subprocess.run, ["pdfsig", str(path)], capture_output=True, text=True, check=False
    )
    assert out.stdout.count("Signature is Valid") == 1, out.stdout


async def test_killed_after_prepare_expires_and_leaves_the_document_unchanged(
    proc_settings: Settings, port: int
) -> None:
    short = replace(proc_settings, signing_timeout_seconds=2)
    async with LifespanManager(create_app(short)) as app:
        world = await seed_world(app, resources_of(app).clock)
        document_id = await make_draft(app, world)
        async with app.client(short.origin) as http:
            await sign_in_as(app, http, world.user_ids["leader"])
            cookie = http.cookies.get(short.session_cookie)
        server = ProcessServer(short, port)
        try:
            await asyncio.to_thread(server.start)
            with client(server, str(cookie)) as http:
                tx_id = prepare(http, document_id)
            await asyncio.to_thread(server.kill)
        finally:
            server.stop()
        await asyncio.sleep(2.5)
        await sweep_once(resources_of(app))
        async with resources_of(app).sessions() as db:
            tx = await db.get_one(SigningTransaction, tx_id)
        assert tx.status == "expired"
        assert await versions_of(app, document_id) == [1]


async def test_an_event_published_in_one_process_reaches_sse_on_another(
    home: tuple[LifespanManager, World, SoftAuthenticator, str], server: ProcessServer
) -> None:
    app, world, _, cookie = home
    leader_id = world.user_ids["leader"]
    await asyncio.to_thread(server.start)
    redis = resources_of(app).redis
    first = await live.publish(redis, leader_id, "warm-up", {"n": 0})

    async with httpx.AsyncClient(
        base_url=server.url, cookies={server.settings.session_cookie: cookie}, timeout=20
    ) as http:
        headers = {"Accept": "text/event-stream", "Last-Event-ID": first}

        async def read_two() -> list[dict[str, str]]:
            events: list[dict[str, str]] = []
            current: dict[str, str] = {}
            async with http.stream("GET", "/live", headers=headers) as response:
                assert response.status_code == 200
                async for line in response.aiter_lines():
                    if not line:
                        if "event" in current:
                            events.append(current)
                            if len(events) == 2:
                                return events
                        current = {}
                        continue
                    key, _, value = line.partition(": ")
                    current[key] = value
            return events

        reader = asyncio.create_task(read_two())
        # Published from this process while the stream is open on the other one; the event
        # published before the connection came back is replayed from Last-Event-ID.
        await live.publish(redis, leader_id, "missed", {"n": 1})
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await live.publish(redis, leader_id, "document-signed", {"document": 7})
        events = await asyncio.wait_for(reader, 10)
    assert [e["event"] for e in events] == ["missed", "document-signed"]
    assert json.loads(events[1]["data"]) == {"document": 7}
    assert time.monotonic() - started < 5
