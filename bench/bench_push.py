"""Web Push delivery: enqueue → delivered to a local push service (run on demand, not a test).

    .venv/bin/python bench/bench_push.py                    # 100 notices/s for 60 s
    .venv/bin/python bench/bench_push.py --rate 200 --seconds 20

A real redis-server, a SQLite database in a temp dir, the app's PushRuntime (relay + worker, as
in the server process) and the test suite's local push service (VAPID verified, payload
decrypted). Each notice is written by `outbox.enqueue` in its own transaction, then the relay is
kicked as the handlers do after commit. Latency = enqueue commit → the push service has
decrypted it. Baseline in the same run: the raw pywebpush send (encrypt + POST) of the worker,
one at a time, to the same push service. Goal (issue #7): p99 <= 1 s at 100 notices/s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.routing import Router

from backend import organisations
from backend.core import db, migrate
from backend.core.clock import SystemClock
from backend.core.embedded_redis import redis_server_binary
from backend.core.models import Role
from backend.core.settings import Settings
from backend.identity import users
from backend.push import outbox, payloads, subscriptions
from backend.push.runtime import PushRuntime
from backend.push.tables import PushOutbox, PushSubscription
from backend.push.vapid import load_or_create
from backend.push.worker import Policy
from backend.web import routes
from backend.web.urls import paths
from tests.conftest import free_port
from tests.support.push_service import push_service


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def show(name: str, values: list[float]) -> None:
    print(f"{name:<34} n={len(values):>5}  p50={pct(values, 50) * 1000:7.1f} ms  "
          f"p99={pct(values, 99) * 1000:7.1f} ms  max={max(values) * 1000:7.1f} ms  "
          f"mean={statistics.fmean(values) * 1000:7.1f} ms")  # fmt: skip


async def main(rate: int, seconds: int) -> None:
    import redis.asyncio as aioredis

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
    runtime = PushRuntime(
        sessions=sessions, redis=redis, clock=clock, keys=keys, policy=Policy(), run_worker=True,
        urls=paths(Router(routes.build(Settings()))),
    )  # fmt: skip
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

            # Baseline: the raw pywebpush send, one at a time (no outbox, stream or database).
            async with sessions() as s:
                subscription = await s.get_one(PushSubscription, sub_id)
            raw: list[float] = []
            test = payloads.test_notice()
            probe = PushOutbox(id=0, urgency="high", ttl=60, topic="bench", payload={
                "title": test.title, "body": test.body, "page": test.page.as_json(), "tag": "t",
            })  # fmt: skip
            for _ in range(200):
                t0 = time.perf_counter()
                assert await runtime.worker.send(subscription, probe) == 201
                raw.append(time.perf_counter() - t0)
            service.received.clear()

            runtime.start()
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
                await runtime.after_commit()
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
        await runtime.stop()
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
