"""Durable background jobs: a row in the `jobs` table, run at least once by whichever worker
claims it.

API:
    await enqueue(db, clock=..., kind=..., payload=..., run_at=None, idempotency_key=None)
        Add a job inside the caller's transaction, so it exists if and only if the change that
        asked for it commits. A second call with the same `idempotency_key` returns the job the
        first one made. After the commit, `await kick(redis)` wakes idle workers at once;
        without it they find the job on their next poll.

    registry = Registry[Ctx]();  @registry.handler("kind") async def run(ctx, job): ...
        Handlers by kind. `ctx` is whatever the runner was given (sessions, clients …);
        `job` is a `ClaimedJob`, a snapshot of the row.

    runner = Runner(sessions=..., registry=..., context=..., clock=..., redis=None,
                    schedule=[Periodic("kind", every=timedelta(seconds=15))])
        `await runner.run_once()` claims the due jobs and runs them (tests, one-shot commands);
        `await runner.start()` … `await runner.stop()` runs a loop that polls, wakes on a kick,
        and runs up to `Policy.concurrency` jobs at a time.

    Periodic work: every runner given a `schedule` enqueues one job of each `Periodic` per
    period, keyed on the period's start (`every:<kind>:<slot>`), so any number of processes
    add it once, and exactly one of them runs it.

    await prune(db, before=...) deletes done jobs and the dead runs of periodic ones; other
    dead jobs stay for a person to look at.

How a job runs. A worker claims due jobs with one compare-and-set UPDATE (queued and due, or
running with a lapsed lease; on PostgreSQL rows another claimer holds are skipped), so of any
number of processes exactly one wins each job. A woken loop waits `Policy.gather_seconds` for
more kicks first, so a burst of jobs is claimed in one transaction. Its lease is renewed while
the handler runs; if the worker dies the lease lapses and another worker takes the job over.
Success marks it `done` (successes that end together are written in one transaction); an
exception schedules a retry with exponential backoff, and after `max_attempts` claims the job
is `dead`, its `last_error` kept. Every attempt counts when it is claimed, so a job that kills
its worker does not loop for ever.

Handlers must be idempotent. Delivery is at least once: a worker can die (or lose its lease)
after the handler's effect committed and before the job is marked done, and the job then runs
again. Make the effect safe to repeat: key what it writes on `job.id` or the idempotency key
under a unique constraint, or check before acting. A handler whose lease is lost is cancelled,
and whatever it returns after that is ignored.

Time always comes from the injected Clock (lease expiry, run_at, backoff); only the pauses of
the loop and of the lease renewal are real-time sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import random
import socket
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from backend.core import events
from backend.core.batching import GroupCommit
from backend.core.clock import Clock
from backend.core.models import Base, UtcDateTime
from backend.core.settings import Settings

__all__ = [
    "KICK_CHANNEL",
    "ClaimedJob",
    "Context",
    "Handler",
    "Job",
    "JobQueued",
    "JobStatus",
    "Periodic",
    "Policy",
    "Registry",
    "Runner",
    "enqueue",
    "kick",
    "prune",
]

log = logging.getLogger("eoffice.jobs")
KICK_CHANNEL = "jobs:kick"
# Idempotency keys of periodic jobs: every:<kind>:<period number>.
PERIODIC_PREFIX = "every:"
Ctx = TypeVar("Ctx")


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class Job(Base):
    """One unit of background work. `attempts` counts claims; `lease_*` name the worker that
    holds a running job and until when."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default=JobStatus.QUEUED)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_jobs_due", "status", "run_at"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'dead')", name="status"),
        CheckConstraint("max_attempts >= 1", name="max_attempts"),
    )


@dataclass(frozen=True)
class ClaimedJob:
    """What a handler sees of its job: a snapshot taken when it was claimed."""

    id: int
    kind: str
    payload: Mapping[str, Any]
    attempt: int  # 1 on the first run
    max_attempts: int
    run_at: datetime
    idempotency_key: str | None
    lease_owner: str


Handler = Callable[[Ctx, ClaimedJob], Awaitable[None]]


class Context(Protocol):
    """What every handler may expect of the runner's context (domains extend it with what
    their handlers need, e.g. `backend.signing_flow.context.SigningContext`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def redis(self) -> aioredis.Redis: ...


@dataclass(frozen=True)
class JobQueued(events.Event):
    """A job was added; after the commit the runners are kicked rather than left to poll."""

    kind: str


@dataclass(frozen=True)
class Periodic:
    """A job of `kind` once every `every`, the periods counted from the Unix epoch."""

    kind: str
    every: timedelta
    payload: Mapping[str, Any] = field(default_factory=dict)
    max_attempts: int = 1

    def slot(self, now: datetime) -> tuple[int, datetime]:
        """The number of the period `now` is in, and when that period began."""
        seconds = self.every.total_seconds()
        number = int(now.timestamp() // seconds)
        return number, datetime.fromtimestamp(number * seconds, tz=now.tzinfo)


async def enqueue(
    db: AsyncSession,
    *,
    clock: Clock,
    kind: str,
    payload: Mapping[str, Any],
    run_at: datetime | None = None,
    idempotency_key: str | None = None,
    max_attempts: int = 5,
) -> Job:
    """Add a job in the caller's transaction; with a known `idempotency_key`, the existing job.

    The INSERT comes first (ON CONFLICT DO NOTHING on the key), so concurrent callers with one
    key are settled by the unique constraint, never by an error that would abort the caller's
    transaction, and on SQLite the write is not preceded by a read that a writer could outdate.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = clock.now()
    values = {
        "kind": kind, "payload": dict(payload), "run_at": run_at if run_at else now,
        "attempts": 0, "max_attempts": max_attempts, "status": JobStatus.QUEUED.value,
        "idempotency_key": idempotency_key, "created_at": now,
    }  # fmt: skip
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(Job).values(**values)
    if idempotency_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[Job.idempotency_key])
    job_id = await db.scalar(statement.returning(Job.id))
    if job_id is None:  # the key is taken: by an earlier call, or a transaction since committed
        job = await db.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
    else:
        job = await db.get(Job, job_id)
        events.record(db, JobQueued(kind))
    assert job is not None
    return job


async def prune(db: AsyncSession, *, before: datetime) -> int:
    """Delete the jobs that finished before `before`: the done ones, and the dead runs of
    periodic jobs (a later period has run since). Other dead jobs stay for a person to look
    at. Returns how many went."""
    finished = or_(
        Job.status == JobStatus.DONE,
        and_(Job.status == JobStatus.DEAD, Job.idempotency_key.startswith(PERIODIC_PREFIX)),
    )
    result = await db.execute(
        delete(Job)
        .where(finished, Job.finished_at < before)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def kick(redis: aioredis.Redis) -> None:
    """Wake idle runners now (call after the commit). Redis trouble is logged, never raised:
    the runners' polling finds the job anyway."""
    try:
        await redis.publish(KICK_CHANNEL, b"1")
    except RedisError as error:
        log.warning("jobs: kick not sent: %s", error)


class Registry(Generic[Ctx]):
    """Handlers by job kind. A runner claims only the kinds its registry knows, so workers of
    different versions can share one table."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler[Ctx]] = {}

    def register(self, kind: str, handler: Handler[Ctx]) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self._handlers[kind] = handler

    def handler(self, kind: str) -> Callable[[Handler[Ctx]], Handler[Ctx]]:
        """Decorator form of `register`."""

        def decorate(fn: Handler[Ctx]) -> Handler[Ctx]:
            self.register(kind, fn)
            return fn

        return decorate

    def get(self, kind: str) -> Handler[Ctx]:
        return self._handlers[kind]

    def kinds(self) -> list[str]:
        return sorted(self._handlers)


@dataclass
class Policy:
    # How long a claim holds without renewal; a worker silent this long is presumed dead.
    lease: timedelta = timedelta(seconds=60)
    # Real seconds between lease renewals while a handler runs; well under `lease`.
    heartbeat_seconds: float = 20.0
    # Real seconds an idle loop waits before looking again (a kick cuts it short).
    poll_seconds: float = 5.0
    # Real seconds a woken loop waits for more kicks before it claims.
    gather_seconds: float = 0.01
    concurrency: int = 4
    # run_once claims at most this many.
    batch: int = 10
    retry_base: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(hours=1)
    # Each retry delay is stretched by up to this fraction, so failures spread out.
    jitter: float = 0.1

    def backoff(self, attempt: int, rng: random.Random) -> timedelta:
        """The pause before the run after failed `attempt` (1-based): base · 2^(attempt-1)."""
        delay = min(self.retry_max, self.retry_base * (1 << min(attempt - 1, 32)))
        return delay * (1 + self.jitter * rng.random())


def default_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass
class Runner(Generic[Ctx]):
    """Claims due jobs and runs their handlers, on any number of processes at once."""

    sessions: async_sessionmaker[AsyncSession]
    registry: Registry[Ctx]
    context: Ctx
    clock: Clock
    policy: Policy = field(default_factory=Policy)
    redis: aioredis.Redis | None = None
    # Periodic jobs this runner enqueues (each once per period, whichever runner is first).
    schedule: Sequence[Periodic] = ()
    name: str = field(default_factory=default_name)
    rng: random.Random = field(default_factory=random.Random)
    _scheduled: dict[str, int] = field(default_factory=dict)
    _loop_task: asyncio.Task[None] | None = None
    _listener: asyncio.Task[None] | None = None
    # The handlers running now, with the job each holds.
    _running: dict[asyncio.Task[None], ClaimedJob] = field(default_factory=dict)
    _successes: GroupCommit[ClaimedJob] = field(init=False)
    _saturated: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._successes = GroupCommit(self._record_done)

    # --- periodic work --------------------------------------------------------------------

    async def enqueue_periodic(self) -> int:
        """Enqueue each periodic job of the current period that this runner has not yet
        enqueued; returns how many were new to this runner."""
        now = self.clock.now()
        due = [(p, *p.slot(now)) for p in self.schedule]
        due = [
            (p, number, start) for p, number, start in due if self._scheduled.get(p.kind) != number
        ]
        if not due:
            return 0
        async with self.sessions() as db, db.begin():
            for periodic, number, start in due:
                await enqueue(
                    db,
                    clock=self.clock,
                    kind=periodic.kind,
                    payload=periodic.payload,
                    run_at=start,
                    idempotency_key=f"{PERIODIC_PREFIX}{periodic.kind}:{number}",
                    max_attempts=periodic.max_attempts,
                )
        for periodic, number, _ in due:
            self._scheduled[periodic.kind] = number
        return len(due)

    # --- claiming -------------------------------------------------------------------------

    def _due(self, now: datetime) -> ColumnElement[bool]:
        return or_(
            and_(Job.status == JobStatus.QUEUED, Job.run_at <= now),
            and_(Job.status == JobStatus.RUNNING, Job.lease_until < now),
        )

    async def claim(self, limit: int) -> list[ClaimedJob]:
        """Take up to `limit` due jobs of known kinds, oldest first, in one transaction."""
        kinds = self.registry.kinds()
        if limit <= 0 or not kinds:
            return []
        now = self.clock.now()
        due = select(Job.id).where(self._due(now), Job.kind.in_(kinds))
        due = due.order_by(Job.run_at, Job.id).limit(limit)
        if self._dialect() == "postgresql":
            # Rows another runner is claiming are skipped, not waited for.
            due = due.with_for_update(skip_locked=True)
        return await self._claim(Job.id.in_(due.scalar_subquery()), now)

    def _dialect(self) -> str:
        bind = self.sessions.kw.get("bind")
        return str(bind.dialect.name) if bind is not None else ""

    async def claim_job(self, job_id: int) -> ClaimedJob | None:
        """Claim this job if it is due (or its lease lapsed); None if it is not, or if another
        worker was first."""
        claimed = await self._claim(Job.id == job_id, self.clock.now())
        return claimed[0] if claimed else None

    async def _claim(self, which: ColumnElement[bool], now: datetime) -> list[ClaimedJob]:
        # One compare-and-set UPDATE, the transaction's first statement: SQLite runs it under
        # the write lock (queued behind another writer by the busy timeout) and PostgreSQL
        # re-checks the WHERE once a row lock is free, so of two claimers of a row the second
        # matches nothing.
        token = f"{self.name[:51]}#{uuid.uuid4().hex[:12]}"
        async with self.sessions() as db, db.begin():
            rows = (
                await db.execute(
                    update(Job)
                    .where(which, self._due(now))
                    .values(
                        status=JobStatus.RUNNING.value,
                        lease_owner=token,
                        lease_until=now + self.policy.lease,
                        attempts=Job.attempts + 1,
                    )
                    .returning(
                        Job.id,
                        Job.kind,
                        Job.payload,
                        Job.attempts,
                        Job.max_attempts,
                        Job.run_at,
                        Job.idempotency_key,
                    )
                    .execution_options(synchronize_session=False)
                )
            ).all()
        claimed = []
        for row in sorted(rows, key=lambda r: (r.run_at, r.id)):
            job = ClaimedJob(
                id=row.id,
                kind=row.kind,
                payload=row.payload,
                attempt=row.attempts,
                max_attempts=row.max_attempts,
                run_at=row.run_at,
                idempotency_key=row.idempotency_key,
                lease_owner=token,
            )
            if job.attempt > job.max_attempts:
                # Its last attempt's worker died (lease lapsed): no attempt left to run.
                await self._finish(job, JobStatus.DEAD, error=_lapsed(job))
                continue
            claimed.append(job)
        return claimed

    # --- running --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Enqueue the periodic jobs of this period, claim what is due (up to
        `Policy.batch`), run it all, and return how many ran."""
        await self.enqueue_periodic()
        jobs = await self.claim(self.policy.batch)
        await asyncio.gather(*(self.run(job) for job in jobs))
        return len(jobs)

    async def run(self, job: ClaimedJob) -> None:
        """Run one claimed job's handler under a renewed lease and record the outcome."""
        handler = asyncio.ensure_future(self.registry.get(job.kind)(self.context, job))
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(job, handler, lost))
        try:
            await handler
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not lost.is_set() or (current is not None and current.cancelling()):
                raise  # the runner itself is being cancelled: the lease lapses, as on a crash
            log.warning("jobs: lost the lease of job %s (%s), handler cancelled", job.id, job.kind)
        except Exception as error:
            await self._failed(job, error)
        else:
            await self._done(job)
        finally:
            heartbeat.cancel()

    async def _heartbeat(
        self, job: ClaimedJob, handler: asyncio.Future[None], lost: asyncio.Event
    ) -> None:
        while True:
            await asyncio.sleep(self.policy.heartbeat_seconds)
            try:
                renewed = await self._renew(job)
            except (SQLAlchemyError, OSError) as error:
                log.warning("jobs: lease of job %s not renewed: %s", job.id, error)
                continue
            if not renewed:
                lost.set()
                handler.cancel()
                return

    async def _renew(self, job: ClaimedJob) -> bool:
        now = self.clock.now()
        async with self.sessions() as db, db.begin():
            result = await db.execute(
                update(Job)
                .where(*_held(job))
                .values(lease_until=now + self.policy.lease)
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            )
            return result.one_or_none() is not None

    async def _failed(self, job: ClaimedJob, error: BaseException) -> None:
        message = "".join(traceback.format_exception(error))[-4000:]
        if job.attempt >= job.max_attempts:
            log.warning(
                "jobs: job %s (%s) dead after %s attempts: %s", job.id, job.kind, job.attempt, error
            )
            await self._finish(job, JobStatus.DEAD, error=message)
            return
        run_at = self.clock.now() + self.policy.backoff(job.attempt, self.rng)
        await self._release(
            job, {"status": JobStatus.QUEUED.value, "run_at": run_at, "last_error": message}
        )

    async def _done(self, job: ClaimedJob) -> None:
        """Record a success. Successes that finish while one is being written are written
        together in the next transaction (group commit): one write for many short jobs."""
        await self._successes.submit(job)

    async def _record_done(self, jobs: Sequence[ClaimedJob]) -> None:
        now = self.clock.now()
        by_token: dict[str, list[int]] = {}
        for job in jobs:
            by_token.setdefault(job.lease_owner, []).append(job.id)
        async with self.sessions() as db, db.begin():
            for token, ids in by_token.items():
                result = await db.execute(
                    update(Job)
                    .where(
                        Job.id.in_(ids),
                        Job.lease_owner == token,
                        Job.status == JobStatus.RUNNING,
                    )
                    .values(
                        status=JobStatus.DONE.value,
                        finished_at=now,
                        lease_owner=None,
                        lease_until=None,
                    )
                    .returning(Job.id)
                    .execution_options(synchronize_session=False)
                )
                for lost in set(ids) - set(result.scalars()):
                    log.warning("jobs: job %s changed hands; outcome done dropped", lost)

    async def _finish(
        self, job: ClaimedJob, status: JobStatus, *, error: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "finished_at": self.clock.now()}
        if error is not None:
            values["last_error"] = error
        await self._release(job, values)

    async def _release(self, job: ClaimedJob, values: dict[str, Any]) -> None:
        """Record an outcome, if the lease is still ours (else the job's new holder decides)."""
        async with self.sessions() as db, db.begin():
            result = await db.execute(
                update(Job)
                .where(*_held(job))
                .values(lease_owner=None, lease_until=None, **values)
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            )
            if result.one_or_none() is None:
                log.warning(
                    "jobs: job %s changed hands; outcome %s dropped", job.id, values["status"]
                )

    # --- the loop -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the loop (and the kick listener, with Redis); returns once it is listening."""
        if self._loop_task is not None:
            raise RuntimeError("runner already started")
        self._stopping.clear()
        if self.redis is not None:
            self._listener = asyncio.create_task(self._listen(self.redis))
            try:
                await asyncio.wait_for(self._subscribed.wait(), timeout=5)
            except TimeoutError:
                log.warning("jobs: no kick subscription yet, polling only")
        self._loop_task = asyncio.create_task(self._loop())

    async def stop(self, *, grace_seconds: float = 30.0) -> None:
        """Claim nothing more, give running handlers `grace_seconds`, then cancel them and put
        their jobs back in the queue for any runner (if the database cannot be reached, their
        leases lapse and other runners take them over all the same)."""
        self._stopping.set()
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if self._running:
            held = dict(self._running)
            _, late = await asyncio.wait(set(held), timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            # Hand what was cut short back to the queue at once, the attempt not counted, so
            # another runner need not wait out the lease.
            for task in late:
                with contextlib.suppress(SQLAlchemyError, OSError):
                    await self._release(
                        held[task],
                        {
                            "status": JobStatus.QUEUED.value,
                            "run_at": self.clock.now(),
                            "attempts": Job.attempts - 1,
                        },
                    )
        await self._successes.wait_idle()
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            free = self.policy.concurrency - len(self._running)
            try:
                await self.enqueue_periodic()
                jobs = await self.claim(free)
            except Exception:
                # Database trouble: log it and look again at the next poll, never give up.
                log.exception("jobs: claim failed")
                jobs = []
            for job in jobs:
                task = asyncio.create_task(self._guarded(job))
                self._running[task] = job
                task.add_done_callback(self._finished)
            # Every slot taken: due jobs may be left, so a finished job (a free slot) wakes
            # the loop. Otherwise nothing more was due: only a kick (a job added), stop() or
            # the next poll does.
            self._saturated = len(jobs) >= free
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.policy.poll_seconds)
            # Kicks come in bursts (one per committed change): gather them for a moment, then
            # claim what they brought with one transaction rather than one each.
            await asyncio.sleep(self.policy.gather_seconds)

    async def _guarded(self, job: ClaimedJob) -> None:
        try:
            await self.run(job)
        except Exception:
            # The outcome could not be recorded (database trouble): the lease lapses and the
            # job is taken over.
            log.exception("jobs: job %s (%s) left to its lease", job.id, job.kind)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        if self._saturated or self._stopping.is_set():
            self._wake.set()

    async def _listen(self, redis: aioredis.Redis) -> None:
        while True:
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(KICK_CHANNEL)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":
                            self._subscribed.set()
                        elif message["type"] == "message":
                            self._wake.set()
            except RedisError as error:
                self._subscribed.clear()
                log.warning("jobs: kick listener: %s", error)
                await asyncio.sleep(self.policy.poll_seconds)


def _held(job: ClaimedJob) -> tuple[ColumnElement[bool], ...]:
    return Job.id == job.id, Job.lease_owner == job.lease_owner, Job.status == JobStatus.RUNNING


def _lapsed(job: ClaimedJob) -> str:
    return f"lease lapsed during attempt {job.max_attempts} of {job.max_attempts}: worker lost"
