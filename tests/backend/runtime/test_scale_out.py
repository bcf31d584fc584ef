"""Two machines' worth of server processes on one PostgreSQL, one Redis and one S3 store
(SeaweedFS): each with a data dir of its own, as if on separate machines, the second run as
`eoffice serve --workers 2`. A document registered through A is read, page image included,
through B; the live event of that registration reaches a browser connected to B; and jobs A
held when it was killed (SIGKILL) are finished by B once their leases lapse."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select, text

from backend.core import jobs
from backend.core.jobs import Job
from backend.core.settings import Settings
from backend.runtime.background import PRUNE_JOB
from backend.web.app import create_app
from tests.backend.documents import corpus
from tests.backend.documents.web.test_views import FIELDS
from tests.backend.identity.conftest import World, new_session, resources_of, seed_world
from tests.conftest import make_settings
from tests.support.lifespan import LifespanManager
from tests.support.ports import free_port
from tests.support.process_server import ProcessServer
from tests.support.seaweedfs import SeaweedFS

pytestmark = [
    pytest.mark.anyio,
    # Several processes share one database: PostgreSQL only, as in production.
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

HELD_JOBS = 4


@pytest.fixture
def shared(tmp_path: Path, database_url: str, redis_url: str, seaweedfs: SeaweedFS) -> Settings:
    # One public origin, as behind a load balancer; short leases so a takeover is quick.
    return make_settings(
        tmp_path / "seed",
        database_url,
        redis_url,
        jobs_lease_seconds=4,
        pdf_workers=1,
        **seaweedfs.settings_overrides(SeaweedFS.new_prefix()),
    )


@pytest.fixture
async def seed(shared: Settings) -> AsyncIterator[tuple[LifespanManager, World]]:
    """An in-process app for the test's own use (people, sessions, looking at rows); it runs no
    jobs and sends no push, so whatever happens is the servers' doing."""
    quiet = replace(shared, jobs_worker=False, push_worker=False)
    async with LifespanManager(create_app(quiet)) as app:
        yield app, await seed_world(app, resources_of(app).clock)


async def session_for(app: LifespanManager, user_id: int) -> str:
    session_id, _ = await new_session(app, user_id)
    return session_id


def http_to(server: ProcessServer, cookie: str) -> httpx.AsyncClient:
    origin = server.settings.origin
    return httpx.AsyncClient(
        base_url=server.url,
        timeout=60,
        headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
        cookies={server.settings.session_cookie: cookie},
    )


async def job_rows(app: LifespanManager, ids: list[int]) -> list[Job]:
    async with resources_of(app).sessions() as db:
        return list(await db.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.id)))


async def wait_for(check: object, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_two_machines_share_documents_live_events_and_jobs(
    shared: Settings, seed: tuple[LifespanManager, World], tmp_path: Path
) -> None:
    app, world = seed
    res = resources_of(app)
    a = ProcessServer(replace(shared, data_dir=tmp_path / "machine-a"), free_port())
    b = ProcessServer(replace(shared, data_dir=tmp_path / "machine-b"), free_port(), workers=2)
    # What docs/deploy.md asks: the same generated keys on every machine.
    for server in (a, b):
        shutil.copytree(shared.data_dir / "secrets", server.settings.data_dir / "secrets")
    clerk = await session_for(app, world.user_ids["clerk"])
    leader = await session_for(app, world.user_ids["leader"])

    # Rows the prune job deletes, locked by this test: A's prune jobs stop on them, mid-run,
    # holding their leases, until the lock goes.
    long_ago = res.clock.now() - timedelta(days=30)
    async with res.sessions() as db, db.begin():
        db.add_all(
            Job(
                kind="old",
                payload={},
                run_at=long_ago,
                attempts=1,
                max_attempts=1,
                status="done",
                created_at=long_ago,
                finished_at=long_ago,
            )
            for _ in range(2)
        )
    lock = await res.engine.connect()
    await lock.begin()
    await lock.execute(text("SELECT id FROM jobs WHERE kind = 'old' FOR UPDATE"))
    try:
        await asyncio.to_thread(a.start)
        async with res.sessions() as db, db.begin():
            held = [
                (await jobs.enqueue(db, clock=res.clock, kind=PRUNE_JOB, payload={})).id
                for _ in range(HELD_JOBS)
            ]
        await jobs.kick(res.redis)
        assert a.proc is not None
        a_pid = f":{a.proc.pid}#"

        async def all_held_by_a() -> bool:
            rows = await job_rows(app, held)
            return all(r.status == "running" and a_pid in (r.lease_owner or "") for r in rows)

        await wait_for(all_held_by_a, "A to claim the jobs", 30)
        await asyncio.to_thread(b.start)

        async with http_to(a, clerk) as on_a, http_to(b, leader) as on_b:
            # The leader's browser is connected to B; the clerk registers through A.
            frames: asyncio.Queue[str] = asyncio.Queue()

            async def listen() -> None:
                async with on_b.stream(
                    "GET", "/live", headers={"Accept": "text/event-stream"}
                ) as r:
                    assert r.status_code == 200
                    async for line in r.aiter_lines():
                        await frames.put(line)

            listener = asyncio.create_task(listen())
            try:
                assert await asyncio.wait_for(frames.get(), 30) == "retry: 3000"
                pdf = corpus.pdf(pages=2)
                created = await on_a.post(
                    "/documents",
                    data=FIELDS,
                    files=[("pdf", ("qd15.pdf", pdf, "application/pdf"))],
                )
                assert created.status_code == 303, created.text
                document_path = created.headers["location"]
                document_path = urlsplit(document_path).path
                document_id = int(document_path.rsplit("/", 1)[1])
                seen: list[str] = []
                while "event: document" not in seen:
                    seen.append(await asyncio.wait_for(frames.get(), 20))
                data = await asyncio.wait_for(frames.get(), 5)
                assert data == f'data: {{"document":{document_id},"kind":"registered"}}'
            finally:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

            page = BeautifulSoup((await on_b.get(document_path)).text, "html.parser")
            images = [str(img["src"]) for img in page.select(".page img")]
            assert len(images) == 2
            image = await on_b.get(images[1])
            assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
            assert image.content[:4] == b"RIFF"
            download = await on_b.get(str(page.select_one(".files a")["href"]))  # type: ignore[index]
            assert download.content == pdf
        assert "differ from those" not in a.log.read_text() + b.log.read_text()
        # Nothing of it went through B's data dir but caches: the file came from S3.
        assert not (b.settings.data_dir / "blobs").exists()
        assert not (a.settings.data_dir / "blobs").exists()

        await asyncio.to_thread(a.kill)
        assert {r.status for r in await job_rows(app, held)} == {"running"}
    except BaseException:
        b.stop()
        raise
    finally:
        await lock.rollback()
        await lock.close()
        a.stop()

    try:
        killed_at = time.monotonic()

        async def all_done() -> bool:
            return {r.status for r in await job_rows(app, held)} == {"done"}

        await wait_for(all_done, "B to finish A's jobs", 40)
        taken_over_in = time.monotonic() - killed_at
        rows = await job_rows(app, held)
        # Claimed by A (attempt 1), then by B after A's leases lapsed (attempt 2; more only if
        # a lease lapsed again on a starved machine).
        assert all(r.attempts >= 2 for r in rows), [r.attempts for r in rows]
        assert taken_over_in >= 1.0  # not before the lease (4 s, renewed every second) lapsed
        async with res.sessions() as db:
            assert await db.scalar(select(Job.id).where(Job.kind == "old")) is None
    finally:
        b.stop()
