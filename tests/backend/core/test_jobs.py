"""The jobs runtime on real SQLite and PostgreSQL (and real Redis for the kick): enqueue in the
caller's transaction, one winner per claim, takeover after a lapsed lease (simulated on a
FixedClock, and for real after SIGKILL), retries with backoff and the dead letter."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.core import db
from backend.core.clock import Clock, FixedClock, SystemClock
from backend.core.events import Bus, unit_of_work
from backend.core.jobs import (
    ClaimedJob,
    Job,
    JobQueued,
    JobStatus,
    Periodic,
    Policy,
    Registry,
    Runner,
    enqueue,
    kick,
    prune,
)
from tests.support import job_worker
from tests.support.process_server import ROOT

pytestmark = pytest.mark.anyio

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@dataclass
class Ctx:
    """What the test handlers get: the database and a log of their calls."""

    sessions: async_sessionmaker[AsyncSession]
    calls: list[tuple[int, int]] = field(default_factory=list)  # (job id, attempt)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    e = db.create_engine(database_url)
    async with e.begin() as connection:
        await connection.execute(
            text("CREATE TABLE job_effects (job_id INTEGER PRIMARY KEY, worker VARCHAR(64))")
        )
    yield e
    await e.dispose()


@pytest.fixture
async def other_engine(database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """A second pool on the same database: another worker process, as far as SQL can tell."""
    e = db.create_engine(database_url)
    yield e
    await e.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def make_runner(
    engine: AsyncEngine, registry: Registry[Ctx], clock: Clock, name: str, **policy: object
) -> Runner[Ctx]:
    sessions = db.sessionmaker(engine)
    values: dict[str, object] = {"lease": LEASE, "jitter": 0.0, "poll_seconds": 0.05}
    values.update(policy)
    return Runner(
        sessions=sessions,
        registry=registry,
        context=Ctx(sessions),
        clock=clock,
        policy=Policy(**values),
        name=name,  # type: ignore[arg-type]
    )


async def add_job(engine: AsyncEngine, clock: Clock, kind: str = "work", **kw: object) -> int:
    async with db.sessionmaker(engine)() as s, s.begin():
        job = await enqueue(s, clock=clock, kind=kind, payload={"n": 1}, **kw)  # type: ignore[arg-type]
        return job.id


async def load(engine: AsyncEngine, job_id: int) -> Job:
    async with db.sessionmaker(engine)() as s:
        return await s.get_one(Job, job_id)


async def effects(engine: AsyncEngine) -> list[tuple[int, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT job_id, worker FROM job_effects"))
        return [(row.job_id, row.worker) for row in rows]


async def record_effect(ctx: Ctx, job: ClaimedJob, by: str) -> None:
    await job_worker.record_effect(ctx.sessions, job.id, by)


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 15.0) -> None:
    """Wait for a condition, polling, with a deadline (never a bare sleep that can race)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# --- enqueue ----------------------------------------------------------------------------------


async def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    async with db.sessionmaker(engine)() as s:
        with pytest.raises(RuntimeError, match="the change failed"):
            async with s.begin():
                job = await enqueue(s, clock=clock, kind="work", payload={"n": 1})
                assert job.id is not None
                raise RuntimeError("the change failed")
    async with db.sessionmaker(engine)() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 0
    kept = await add_job(engine, clock)
    assert (await load(engine, kept)).status == JobStatus.QUEUED


async def test_an_idempotency_key_makes_one_job(engine: AsyncEngine, clock: FixedClock) -> None:
    first = await add_job(engine, clock, idempotency_key="remind:42")
    async with db.sessionmaker(engine)() as s, s.begin():
        again = await enqueue(s, clock=clock, kind="work", payload={}, idempotency_key="remind:42")
        twice = await enqueue(s, clock=clock, kind="work", payload={}, idempotency_key="remind:42")
    assert again.id == twice.id == first
    other = await add_job(engine, clock, idempotency_key="remind:43")
    async with db.sessionmaker(engine)() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 2
    assert other != first


async def test_concurrent_enqueues_with_one_key_make_one_job_and_no_error(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    async def second() -> int:
        async with db.sessionmaker(other_engine)() as s, s.begin():
            job = await enqueue(s, clock=clock, kind="work", payload={}, idempotency_key="k")
            return job.id

    async with db.sessionmaker(engine)() as s:
        async with s.begin():
            first = await enqueue(s, clock=clock, kind="work", payload={}, idempotency_key="k")
            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.3)
            # It cannot finish before we commit: the key (PostgreSQL) or the writer lock
            # (SQLite) is ours until then.
            assert not waiting.done()
        assert await waiting == first.id
    async with db.sessionmaker(engine)() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 1


# --- claiming ---------------------------------------------------------------------------------


def counting_registry() -> Registry[Ctx]:
    registry: Registry[Ctx] = Registry()

    @registry.handler("work")
    async def work(ctx: Ctx, job: ClaimedJob) -> None:
        ctx.calls.append((job.id, job.attempt))

    return registry


async def test_two_workers_racing_for_a_job_exactly_one_wins(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    registry = counting_registry()
    a = make_runner(engine, registry, clock, "a")
    b = make_runner(other_engine, registry, clock, "b")
    ids = [await add_job(engine, clock) for _ in range(10)]
    for job_id in ids:
        won = await asyncio.gather(a.claim_job(job_id), b.claim_job(job_id))
        assert sum(claim is not None for claim in won) == 1, won


async def test_two_workers_running_at_once_run_each_job_once(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    registry = counting_registry()
    a = make_runner(engine, registry, clock, "a", batch=30)
    b = make_runner(other_engine, registry, clock, "b", batch=30)
    ids = {await add_job(engine, clock) for _ in range(30)}
    ran = await asyncio.gather(a.run_once(), b.run_once())
    assert sum(ran) == 30
    calls = a.context.calls + b.context.calls
    assert sorted(job_id for job_id, _ in calls) == sorted(ids)
    for job_id in ids:
        assert (await load(engine, job_id)).status == JobStatus.DONE


async def test_only_due_jobs_of_known_kinds_are_claimed(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    runner = make_runner(engine, counting_registry(), clock, "a")
    later = await add_job(engine, clock, run_at=START + timedelta(minutes=5))
    stranger = await add_job(engine, clock, kind="unknown-here")
    assert await runner.run_once() == 0
    clock.advance(timedelta(minutes=5))
    assert await runner.run_once() == 1
    assert runner.context.calls == [(later, 1)]
    assert (await load(engine, stranger)).status == JobStatus.QUEUED


# --- leases -----------------------------------------------------------------------------------


def stalling_registry() -> Registry[Ctx]:
    """`work`: the effect (idempotent), then on the first attempt a stall until `ctx.gate`."""
    registry: Registry[Ctx] = Registry()

    @registry.handler("work")
    async def work(ctx: Ctx, job: ClaimedJob) -> None:
        ctx.calls.append((job.id, job.attempt))
        await record_effect(ctx, job, job.lease_owner.split("#")[0])
        if job.attempt == 1:
            ctx.started.set()
            await ctx.gate.wait()

    return registry


async def test_a_job_whose_worker_died_is_run_again_and_its_effect_happens_once(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    registry = stalling_registry()
    a = make_runner(engine, registry, clock, "a")
    b = make_runner(other_engine, registry, clock, "b")
    job_id = await add_job(engine, clock)
    dying = asyncio.create_task(a.run_once())
    await asyncio.wait_for(a.context.started.wait(), 15)
    dying.cancel()  # the process dies: no outcome, no more renewals
    await asyncio.gather(dying, return_exceptions=True)

    assert await b.run_once() == 0  # the lease still holds
    clock.advance(LEASE + timedelta(seconds=1))
    assert await b.run_once() == 1

    job = await load(engine, job_id)
    assert (job.status, job.attempts, job.lease_owner) == (JobStatus.DONE, 2, None)
    assert b.context.calls == [(job_id, 2)]
    assert await effects(engine) == [(job_id, "a")]  # ran twice, happened once


async def test_a_worker_that_lost_its_lease_cannot_record_an_outcome(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    registry = stalling_registry()

    @registry.handler("fail-late")
    async def fail_late(ctx: Ctx, job: ClaimedJob) -> None:
        if job.attempt == 1:
            ctx.started.set()
            await ctx.gate.wait()
            raise RuntimeError("too late to matter")

    # A paused process: its renewals are an hour apart, so its lease lapses.
    a = make_runner(engine, registry, clock, "a", heartbeat_seconds=3600)
    b = make_runner(other_engine, registry, clock, "b")
    job_id = await add_job(engine, clock, kind="fail-late")
    slow = asyncio.create_task(a.run_once())
    await asyncio.wait_for(a.context.started.wait(), 15)
    clock.advance(LEASE + timedelta(seconds=1))
    taken = await b.claim_job(job_id)
    assert taken is not None

    a.context.gate.set()
    await slow  # A's failure comes too late: B holds the job, which is not requeued
    job = await load(engine, job_id)
    assert (job.status, job.attempts, job.last_error) == (JobStatus.RUNNING, 2, None)
    assert job.lease_owner == taken.lease_owner

    await b.run(taken)
    job = await load(engine, job_id)
    assert (job.status, job.attempts, job.last_error) == (JobStatus.DONE, 2, None)


async def test_a_running_job_keeps_its_lease_and_is_cancelled_when_it_loses_it(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    registry: Registry[Ctx] = Registry()
    cancelled = asyncio.Event()

    @registry.handler("long")
    async def long(ctx: Ctx, job: ClaimedJob) -> None:
        ctx.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    a = make_runner(engine, registry, clock, "a", heartbeat_seconds=0.02)
    b = make_runner(other_engine, registry, clock, "b")
    job_id = await add_job(engine, clock, kind="long")
    running = asyncio.create_task(a.run_once())
    await asyncio.wait_for(a.context.started.wait(), 15)

    clock.advance(LEASE * 3)

    async def renewed() -> bool:
        lease_until = (await load(engine, job_id)).lease_until
        return lease_until is not None and lease_until == clock.now() + LEASE

    await eventually(renewed)
    assert await b.claim_job(job_id) is None

    async with engine.begin() as connection:  # someone else holds it now
        await connection.execute(update(Job).values(lease_owner="thief#1"))
    await asyncio.wait_for(cancelled.wait(), 15)
    await asyncio.wait_for(running, 15)
    job = await load(engine, job_id)
    assert (job.status, job.lease_owner) == (JobStatus.RUNNING, "thief#1")


async def test_a_worker_killed_with_sigkill_has_its_job_taken_over(
    engine: AsyncEngine, database_url: str
) -> None:
    clock = SystemClock()
    lease = timedelta(seconds=2)
    job_id = await add_job(engine, clock, kind=job_worker.BLOCKING_KIND)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.job_worker",
        database_url,
        "2",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:

        async def claimed_and_working() -> bool:
            if proc.returncode is not None:
                output = (await proc.communicate())[0].decode()
                raise AssertionError(f"the worker exited: {output[-3000:]}")
            job = await load(engine, job_id)
            owner = job.lease_owner or ""
            return owner.startswith(job_worker.WORKER_NAME) and bool(await effects(engine))

        await eventually(claimed_and_working, within=30)
    finally:
        if proc.returncode is None:
            proc.kill()  # SIGKILL: no cleanup, no outcome, no more renewals
        await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == -9
    held_until = (await load(engine, job_id)).lease_until
    assert held_until is not None

    registry: Registry[Ctx] = Registry()

    @registry.handler(job_worker.BLOCKING_KIND)
    async def finish(ctx: Ctx, job: ClaimedJob) -> None:
        ctx.calls.append((job.id, job.attempt))
        await record_effect(ctx, job, "survivor")

    survivor = make_runner(engine, registry, clock, "survivor", lease=lease)

    async def taken_over() -> bool:
        return await survivor.run_once() == 1

    await eventually(taken_over, within=30)
    assert clock.now() >= held_until
    job = await load(engine, job_id)
    assert (job.status, job.attempts, job.lease_owner) == (JobStatus.DONE, 2, None)
    assert survivor.context.calls == [(job_id, 2)]
    assert await effects(engine) == [(job_id, job_worker.WORKER_NAME)]


async def test_a_job_whose_worker_died_on_its_last_attempt_is_dead(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    registry = counting_registry()
    a = make_runner(engine, registry, clock, "a")
    b = make_runner(other_engine, registry, clock, "b")
    job_id = await add_job(engine, clock, max_attempts=1)
    assert await a.claim_job(job_id) is not None  # …and a dies before running it
    clock.advance(LEASE + timedelta(seconds=1))
    assert await b.run_once() == 0
    job = await load(engine, job_id)
    assert (job.status, job.attempts, job.lease_owner) == (JobStatus.DEAD, 2, None)
    assert job.last_error is not None and "lease lapsed" in job.last_error
    assert b.context.calls == []


# --- failures ---------------------------------------------------------------------------------


async def test_failures_are_retried_with_backoff_then_dead_lettered(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    registry: Registry[Ctx] = Registry()

    @registry.handler("flaky")
    async def flaky(ctx: Ctx, job: ClaimedJob) -> None:
        ctx.calls.append((job.id, job.attempt))
        raise ValueError(f"service down, attempt {job.attempt}")

    runner = make_runner(engine, registry, clock, "a", retry_base=timedelta(seconds=30))
    job_id = await add_job(engine, clock, kind="flaky", max_attempts=3)

    assert await runner.run_once() == 1
    job = await load(engine, job_id)
    assert (job.status, job.attempts, job.lease_owner) == (JobStatus.QUEUED, 1, None)
    assert job.run_at == START + timedelta(seconds=30)
    assert job.last_error is not None and "ValueError: service down, attempt 1" in job.last_error

    clock.advance(timedelta(seconds=29))
    assert await runner.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert await runner.run_once() == 1
    job = await load(engine, job_id)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 2)
    assert job.run_at == clock.now() + timedelta(seconds=60)

    clock.advance(timedelta(seconds=60))
    assert await runner.run_once() == 1
    job = await load(engine, job_id)
    assert (job.status, job.attempts, job.lease_owner) == (JobStatus.DEAD, 3, None)
    assert job.finished_at is not None and job.finished_at == clock.now()
    assert job.last_error is not None and "service down, attempt 3" in job.last_error

    clock.advance(timedelta(days=1))
    assert await runner.run_once() == 0
    assert [attempt for _, attempt in runner.context.calls] == [1, 2, 3]


def test_backoff_doubles_up_to_its_cap_stretched_by_at_most_the_jitter() -> None:
    policy = Policy(retry_base=timedelta(seconds=10), retry_max=timedelta(minutes=1), jitter=0.5)
    rng = random.Random(7)
    for attempt, base in [(1, 10), (2, 20), (3, 40), (4, 60), (40, 60)]:
        delay = policy.backoff(attempt, rng)
        assert timedelta(seconds=base) <= delay <= timedelta(seconds=base * 1.5), attempt
    steady = Policy(retry_base=timedelta(seconds=10), jitter=0.0)
    assert steady.backoff(3, rng) == timedelta(seconds=40)


def test_a_kind_has_one_handler() -> None:
    registry = counting_registry()

    async def other(ctx: Ctx, job: ClaimedJob) -> None:
        return None

    with pytest.raises(ValueError, match="already registered"):
        registry.register("work", other)


# --- the loop ---------------------------------------------------------------------------------


async def test_the_loop_finds_new_jobs_by_polling(engine: AsyncEngine, clock: FixedClock) -> None:
    runner = make_runner(engine, counting_registry(), clock, "a", poll_seconds=0.05)
    await runner.start()
    try:
        job_id = await add_job(engine, clock)

        async def done() -> bool:
            return (await load(engine, job_id)).status == JobStatus.DONE

        await eventually(done)
    finally:
        await runner.stop()
    assert runner.context.calls == [(job_id, 1)]


async def test_a_kick_wakes_an_idle_loop_at_once(
    engine: AsyncEngine, clock: FixedClock, redis_url: str
) -> None:
    redis = aioredis.from_url(redis_url)
    # Polling alone would take a minute: only the kick can make this pass in time.
    runner = make_runner(engine, counting_registry(), clock, "a", poll_seconds=60)
    runner.redis = redis
    await runner.start()
    try:
        for _ in range(2):
            job_id = await add_job(engine, clock)
            await kick(redis)

            async def done(job_id: int = job_id) -> bool:
                return (await load(engine, job_id)).status == JobStatus.DONE

            await eventually(done, within=10)
    finally:
        await runner.stop(grace_seconds=5)
        await redis.aclose()
    assert len(runner.context.calls) == 2


# --- periodic work, pruning, stopping ---------------------------------------------------------


async def test_periodic_work_is_enqueued_once_per_period_by_any_number_of_runners(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    every = Periodic("work", every=timedelta(minutes=1))
    a = make_runner(engine, counting_registry(), clock, "a")
    b = make_runner(other_engine, counting_registry(), clock, "b")
    a.schedule = b.schedule = [every]
    # Both runners' turns at once, three times in one minute: one job, run by one of them.
    for _ in range(3):
        await asyncio.gather(a.run_once(), b.run_once())
    assert len(a.context.calls) + len(b.context.calls) == 1
    clock.advance(timedelta(seconds=59))  # 01:00:59: still the first minute
    assert await a.run_once() + await b.run_once() == 0
    clock.advance(timedelta(seconds=1))  # 01:01:00: the next
    assert await b.run_once() + await a.run_once() == 1
    async with db.sessionmaker(engine)() as s:
        jobs = list(await s.scalars(select(Job).order_by(Job.id)))
    minute = int(START.timestamp() // 60)
    assert [(j.idempotency_key, j.status, j.run_at) for j in jobs] == [
        (f"every:work:{minute}", "done", START),
        (f"every:work:{minute + 1}", "done", START + timedelta(minutes=1)),
    ]


async def test_prune_keeps_what_a_person_must_see(engine: AsyncEngine, clock: FixedClock) -> None:
    registry = counting_registry()

    @registry.handler("fails")
    async def fails(ctx: Ctx, job: ClaimedJob) -> None:
        raise RuntimeError("no")

    runner = make_runner(engine, registry, clock, "a")
    runner.schedule = [Periodic("fails", every=timedelta(hours=1))]
    old_done = await add_job(engine, clock)
    old_dead = await add_job(engine, clock, kind="fails", max_attempts=1)
    assert await runner.run_once() == 3  # the two, and the periodic one (dead: one attempt)
    clock.advance(timedelta(days=8))
    recent_done = await add_job(engine, clock)
    runner.schedule = []
    assert await runner.run_once() == 1
    async with db.sessionmaker(engine)() as s, s.begin():
        assert await prune(s, before=clock.now() - timedelta(days=7)) == 2
    async with db.sessionmaker(engine)() as s:
        left = {j.id: (j.kind, j.status) for j in await s.scalars(select(Job))}
    assert left == {old_dead: ("fails", "dead"), recent_done: ("work", "done")}
    assert old_done not in left


async def test_a_stopping_runner_hands_its_unfinished_job_back_at_once(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FixedClock
) -> None:
    registry: Registry[Ctx] = Registry()

    @registry.handler("work")
    async def wait(ctx: Ctx, job: ClaimedJob) -> None:
        ctx.calls.append((job.id, job.attempt))
        ctx.started.set()
        await ctx.gate.wait()

    a = make_runner(engine, registry, clock, "a")
    await a.start()
    job_id = await add_job(engine, clock)
    await asyncio.wait_for(a.context.started.wait(), 15)
    await a.stop(grace_seconds=0.1)
    # Back in the queue, due now, its attempt not counted: no lease to wait out.
    job = await load(engine, job_id)
    assert (job.status, job.attempts, job.lease_owner, job.run_at) == ("queued", 0, None, START)
    b = make_runner(other_engine, registry, clock, "b")
    b.context.gate.set()
    assert await b.run_once() == 1
    assert b.context.calls == [(job_id, 1)]
    assert (await load(engine, job_id)).status == JobStatus.DONE


async def test_a_job_enqueued_in_a_unit_of_work_wakes_the_runners_after_the_commit(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    heard: list[JobQueued] = []

    async def hear(event: JobQueued) -> None:
        heard.append(event)

    bus = Bus()
    bus.subscribe(JobQueued, hear)
    sessions = db.sessionmaker(engine)
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions, bus) as s:
            await enqueue(s, clock=clock, kind="work", payload={})
            raise RuntimeError("rolled back")
    assert heard == []
    async with unit_of_work(sessions, bus) as s:
        await enqueue(s, clock=clock, kind="work", payload={}, idempotency_key="k")
        assert heard == []
    assert heard == [JobQueued("work")]
    async with unit_of_work(sessions, bus) as s:
        await enqueue(s, clock=clock, kind="work", payload={}, idempotency_key="k")
    assert heard == [JobQueued("work")]  # nothing new was queued
