"""Live counters across two server processes sharing Redis: a leader's assignment made on one
server reaches the specialist's SSE stream held by the other; after a dropped connection, the
browser's Last-Event-ID brings back what was published meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from backend import organisations
from backend.core import db
from backend.core.clock import SystemClock
from backend.core.models import Role
from backend.core.settings import Settings
from backend.documents.tables import Document
from backend.identity import sessions, users
from backend.identity.sessions import SessionLimits
from tests.conftest import free_port, make_settings, run_async
from tests.support.browser import LiveServer

ORIGIN = "http://localhost:8000"


async def seed(settings: Settings) -> dict[str, int]:
    engine = db.create_engine(settings.database_url)
    clock = SystemClock()
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            agency = await organisations.create_agency(
                s, clock=clock, code="000.00.01.H53", name="VP UBND tỉnh", short_name="VP"
            )
            ids = {}
            for name, role in (("lanhdao", Role.LEADER), ("chuyenvien", Role.SPECIALIST)):
                person = await users.create_user(
                    s,
                    clock=clock,
                    agency=agency,
                    username=name,
                    full_name=name.title(),
                    roles={role},
                )
                ids[name] = person.id
            for n in (1, 2):
                document = Document(
                    agency_id=agency.id,
                    direction="incoming",
                    type_code="CV",
                    status="03",
                    subject=f"Văn bản {n}",
                    created_at=clock.now(),
                    signature_check={},
                )
                s.add(document)
                await s.flush()
                ids[f"doc{n}"] = document.id
        return ids
    finally:
        await engine.dispose()


async def session_for(settings: Settings, user_id: int) -> str:
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        session_id, _ = await sessions.start(
            client,
            clock=SystemClock(),
            user_id=user_id,
            device="test",
            ip="127.0.0.1",
            limits=SessionLimits(idle=timedelta(hours=1), absolute=timedelta(hours=2)),
        )
        return session_id
    finally:
        await client.aclose()


@pytest.fixture
def two_servers(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[tuple[str, str]]:
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=ORIGIN)
    port_a, port_b = free_port(), free_port()
    env = {**os.environ, "EOFFICE_DATA_DIR": str(settings.data_dir),
           "EOFFICE_DATABASE_URL": sqlite_url, "EOFFICE_REDIS_URL": redis_url,
           "EOFFICE_BASE_URL": ORIGIN,
           "EOFFICE_LOG_LEVEL": "warning"}  # fmt: skip
    eoffice = Path(sys.executable).parent / "eoffice"
    other = subprocess.Popen(
        [str(eoffice), "serve", "--port", str(port_b)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with LiveServer(settings, port_a):
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port_b}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or other.poll() is not None:
                        raise RuntimeError("second server did not start") from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    finally:
        other.terminate()
        other.wait(timeout=20)


def events_until(lines: Iterator[str], name: str) -> dict[str, str]:
    frame: dict[str, str] = {}
    for line in lines:
        if not line:
            if frame.get("event") == name:
                return frame
            frame = {}
            continue
        key, _, value = line.partition(": ")
        frame[key] = value
    raise AssertionError("stream ended")


def test_counters_cross_processes_and_survive_a_reconnect(
    two_servers: tuple[str, str], tmp_path: Path, sqlite_url: str, redis_url: str
) -> None:
    server_a, server_b = two_servers
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=ORIGIN)
    ids = run_async(seed(settings))
    cookie = settings.session_cookie
    leader_session = run_async(session_for(settings, ids["lanhdao"]))
    specialist_session = run_async(session_for(settings, ids["chuyenvien"]))
    same_origin = {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}
    with (
        httpx.Client(
            base_url=server_a, headers=same_origin, cookies={cookie: leader_session}
        ) as leader,
        httpx.Client(
            base_url=server_b, timeout=20, cookies={cookie: specialist_session}
        ) as specialist,
    ):

        def assign(doc: int) -> None:
            response = leader.post(
                f"/documents/{doc}/assign",
                data={"lead": f"u:{ids['chuyenvien']}", "deadline": "2099-12-31"},
            )
            assert response.status_code == 303, response.text

        sse = {"Accept": "text/event-stream"}
        with specialist.stream("GET", "/live", headers=sse) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            assert next(lines) == "retry: 3000"
            assign(ids["doc1"])  # on server A; the stream is held by server B
            first = events_until(lines, "work")
        assert '"count":1' in first["data"]

        assign(ids["doc2"])  # published while the specialist is disconnected
        with specialist.stream(
            "GET", "/live", headers={**sse, "Last-Event-ID": first["id"]}
        ) as stream:
            replayed = events_until(stream.iter_lines(), "work")
        assert '"count":2' in replayed["data"]
        assert replayed["id"] > first["id"]
        # The badge's fragment agrees with the events.
        assert specialist.get("/work/count").text == "2"
