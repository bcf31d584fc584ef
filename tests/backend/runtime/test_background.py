"""The background jobs of a running app: its lifespan runs every periodic kind on its own, and
`eoffice worker` — a separate process with the server's resources — runs what the app queues
when the app itself runs no jobs."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core import db
from backend.core.clock import FixedClock
from backend.core.jobs import Job, JobStatus, enqueue
from backend.runtime import background
from backend.web.app import create_app
from tests.conftest import make_settings
from tests.support.lifespan import LifespanManager
from tests.support.process_server import ROOT, env_for

pytestmark = pytest.mark.anyio


async def statuses(url: str) -> dict[str, set[str]]:
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine)() as s:
            found: dict[str, set[str]] = {}
            for job in await s.scalars(select(Job)):
                found.setdefault(job.kind, set()).add(job.status)
            return found
    finally:
        await engine.dispose()


async def test_the_app_runs_each_periodic_job_once_per_period(
    tmp_path: Path, sqlite_url: str, redis_url: str
) -> None:
    settings = make_settings(tmp_path, sqlite_url, redis_url, scheduler=True)
    clock = FixedClock(datetime(2026, 3, 2, 1, 0, 30, tzinfo=UTC))
    kinds = {p.kind for p in background.schedule(settings)}
    async with LifespanManager(create_app(settings, clock=clock)):
        deadline = time.monotonic() + 30
        while (found := await statuses(sqlite_url)) != {kind: {"done"} for kind in kinds}:
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.1)
        # The clock stands still: a loop later, each kind has still run once.
        await asyncio.sleep(background.runner_policy(settings).poll_seconds + 0.5)
        engine = db.create_engine(sqlite_url)
        async with db.sessionmaker(engine)() as s:
            assert len(list(await s.scalars(select(Job)))) == len(kinds)
        # The next minute brings the sweep and the reminders again, not the hourly ones.
        clock.advance(timedelta(minutes=1))
        deadline = time.monotonic() + 30
        while True:
            async with db.sessionmaker(engine)() as s:
                done = [j.kind for j in await s.scalars(select(Job).where(Job.status == "done"))]
            if len(done) == len(kinds) + 2:
                break
            assert time.monotonic() < deadline, done
            await asyncio.sleep(0.1)
        await engine.dispose()
    assert sorted(done) == sorted([*kinds, "signing.sweep", "workflow.reminders"])


async def test_eoffice_worker_runs_the_jobs_of_an_app_that_runs_none(
    tmp_path: Path, sqlite_url: str, redis_url: str
) -> None:
    settings = make_settings(tmp_path, sqlite_url, redis_url, jobs_worker=False)
    async with LifespanManager(create_app(settings)):
        engine = db.create_engine(sqlite_url)
        sessions = db.sessionmaker(engine)
        async with sessions() as s, s.begin():
            job = await enqueue(
                s, clock=FixedClock(datetime.now(UTC)), kind=background.PRUNE_JOB, payload={}
            )
            job_id = job.id
        await asyncio.sleep(1.0)
        async with sessions() as s:
            assert (await s.get_one(Job, job_id)).status == JobStatus.QUEUED  # the app runs none
        log = (tmp_path / "worker.log").open("wb")
        worker = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "backend", "worker"],
            env=env_for(settings),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                async with sessions() as s:
                    status = (await s.get_one(Job, job_id, populate_existing=True)).status
                if status == JobStatus.DONE:
                    break
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                await asyncio.sleep(0.1)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(worker.wait, 30)
            log.close()
            await engine.dispose()
    assert code == 0, (tmp_path / "worker.log").read_text()
    assert "eoffice worker" in (tmp_path / "worker.log").read_text()
