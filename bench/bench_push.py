"""Web Push delivery: enqueue → delivered to a local push service (run on demand, not a test).

    .venv/bin/python bench/bench_push.py                    # 100 notices/s for 60 s
    .venv/bin/python bench/bench_push.py --rate 200 --seconds 20

A real redis-server, a SQLite database in a temp dir, the app's jobs runner with the push sender
(as in the server process: `backend.runtime.background`) and the test suite's local push service
(VAPID verified, payload decrypted). Each notice is written by `outbox.enqueue` (the row and its
send job) in its own transaction, then the runners are kicked as the handlers' commit does.
Latency = enqueue commit → the push service has decrypted it. Baseline in the same run: the raw pywebpush send (encrypt + POST) of the worker,
one at a time, to the same push service. Goal (issue #7): p99 <= 1 s at 100 notices/s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import Router

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import organisations
from backend.core import db, jobs, migrate
from backend.core.clock import Clock, SystemClock
from backend.core.embedded_redis import redis_server_binary
from backend.core.models import Role
from backend.core.settings import Settings
from backend.identity import users
from backend.push import outbox, payloads, subscriptions
from backend.push.sender import SEND_JOB, Sender, send_job
from backend.push.tables import PushOutbox, PushSubscription
from backend.push.vapid import load_or_create
from backend.runtime import background
from backend.web import routes
from backend.web.urls import paths
from tests.conftest import free_port
from tests.support.push_service import push_service


@dataclass(frozen=True)
class Context:
    """What the push.send jobs need of the process (the server's is its Resources)."""

    settings: Settings
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    push: Sender


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def show(name: str, values: list[float]) -> None:
    print(f"{name:<34} n={len(values):>5}  p50={pct(values, 50) * 1000:7.1f} ms  "
          f"p99={pct(values, 99) * 1000:7.1f} ms  max={max(values) * 1000:7.1f} ms  "
          f"mean={statistics.fmean(values) * 1000:7.1f} ms")  # fmt: skip


async def main(rate: int, seconds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
    port = free_port()
    redis_proc = await asyncio.create_subprocess_exec(
        redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp),
        stdout=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(0.5)
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    engine = db.create_engine(url)
    await migrate.upgrade(engine)
    clock = SystemClock()
    redis = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
    keys = load_or_create(tmp, contact="mailto:bench@example.org")
    sessions = db.sessionmaker(engine)
    sender = Sender(
        sessions=sessions, clock=clock, keys=keys, urls=paths(Router(routes.build(Settings())))
    )
    settings = Settings(data_dir=tmp)
    registry: jobs.Registry[Context] = jobs.Registry()
    registry.register(SEND_JOB, send_job)
    runner = jobs.Runner(
        sessions=sessions,
        registry=registry,
        clock=clock,
        redis=redis,
        context=Context(settings, clock, sessions, redis, sender),
        policy=background.runner_policy(settings),
    )
    try:
        async with push_service(keys.public_key) as service:
            device = service.device("phone")
            async with sessions() as s, s.begin():
                agency = await organisations.create_agency(
                    s, clock=clock, code="000.00.01.H53", name="VP", short_name="VP"
                )
                person = await users.create_user(
                    s,
                    clock=clock,
                    agency=agency,
                    username="cv",
                    full_name="Chuyên viên",
                    roles={Role.SPECIALIST},
                )
                sub = await subscriptions.subscribe(
                    s,
                    clock=clock,
                    user_id=person.id,
                    subscription=device.subscription(service.base),
                    device="bench",
                )
                user_id, sub_id = person.id, sub.id

            # Baseline: the raw pywebpush send, one at a time (no outbox, job or database).
            async with sessions() as s:
                subscription = await s.get_one(PushSubscription, sub_id)
            raw: list[float] = []
            test = payloads.test_notice()
            probe = PushOutbox(
                id=0,
                urgency="high",
                ttl=60,
                topic="bench",
                payload={
                    "title": test.title,
                    "body": test.body,
                    "page": test.page.as_json(),
                    "tag": "t",
                },
            )
            for _ in range(200):
                t0 = time.perf_counter()
                assert await sender.send(subscription, probe) == 201
                raw.append(time.perf_counter() - t0)
            service.received.clear()

            await runner.start()
            sent_at: dict[int, float] = {}
            total = rate * seconds
            t_start = time.perf_counter()
            for n in range(total):
                due = t_start + n / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                async with sessions() as s, s.begin():
                    notice = payloads.digest(day=clock.now().date(), due_today=n + 1, overdue=0)
                    row = await outbox.enqueue(s, clock=clock, user_id=user_id, notice=notice)
                    assert row is not None
                    oid = row.id
                sent_at[oid] = time.perf_counter()
                await jobs.kick(redis)
            achieved = total / (time.perf_counter() - t_start)
            await service.wait_for(total, seconds=120)
            # The push service's clock is time.time(); convert to perf_counter's timeline.
            offset = time.perf_counter() - time.time()
            latency = [
                r.at + offset - sent_at[r.payload["id"]]
                for r in service.received
                if r.payload["id"] in sent_at
            ]
            print(
                f"offered {rate}/s for {seconds} s, achieved {achieved:.1f}/s; "
                f"delivered {len(latency)} of {total}"
            )
            show("raw pywebpush send (baseline)", raw)
            show("enqueue -> delivered", latency)
            print(f"goal p99 <= 1000 ms: {'met' if pct(latency, 99) <= 1.0 else 'NOT met'}")
    finally:
        await runner.stop()
        await sender.close()
        await redis.aclose()
        await engine.dispose()
        redis_proc.terminate()
        await redis_proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds))
