"""The leader's dashboard at scale, over HTTP, on PostgreSQL (run on demand, not a test).

    .venv/bin/python bench/bench_dashboard.py --documents 100000 --keep   # load, measure, keep
    .venv/bin/python bench/bench_dashboard.py --reuse                      # measure the kept data

Loads the documents of bench_documents.py (one agency, eight units, a document every 50 s from
1 January 2025: 1,000,000 documents reach into August 2026) and gives them realistic handling:
every document past "registered" has a chủ trì hop to its unit and one handed down to one of the
unit's six specialists, a third have a phối hợp unit, deadlines of 3–14 days, completions after
0–20 days (so some late), the rest still open and mostly overdue. Then measures, one client in a
loop, the dashboard page, a drill-down and the CSV of the densest year (2025) for the leader (the
agency) and a unit head (their unit), with /healthz in the same run as the baseline.
Target (issue #7 follow-up): dashboard p95 <= 300 ms at 1M documents.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_documents
from bench_documents import PG, free_port, measure, percentile, prepare_database

from backend.core import db
from backend.core.clock import SystemClock
from backend.core.embedded_redis import redis_server_binary
from backend.core.models import Agency, Role, Unit, User
from backend.identity import sessions, users
from backend.identity.sessions import SessionLimits
from backend.workflow import dashboard

SPECIALISTS_PER_UNIT = 6
# Its own database: bench_documents.py drops "eoffice_bench" when it starts.
NAME = bench_documents.NAME = "eoffice_bench_dashboard"

# Hops in three statements over the whole table (no Python loop over a million rows).
TOP_HOPS = """
INSERT INTO assignments (document_id, parent_id, part, unit_id, user_id, assigned_by_id, deadline,
                         direction, state, progress, result, created_at, closed_at)
SELECT d.id, NULL, 'lead', d.unit_id, NULL, $1,
       ((d.created_at + interval '1 hour')::date + (3 + d.id % 12) + time '17:00')
           AT TIME ZONE 'Asia/Ho_Chi_Minh',
       'Chủ trì, tham mưu', CASE d.status WHEN '04' THEN 'active' WHEN '05' THEN 'delegated'
                                          ELSE 'completed' END,
       0, '', d.created_at + interval '1 hour',
       CASE WHEN d.status = '06'
            THEN d.created_at + interval '1 hour'
                 + ((d.id::bigint * 7919) % 2000) * interval '864 seconds'
       END
FROM documents d WHERE d.status IN ('04', '05', '06')
"""
CHILD_HOPS = """
INSERT INTO assignments (document_id, parent_id, part, unit_id, user_id, assigned_by_id, deadline,
                         direction, state, progress, result, created_at, closed_at)
SELECT a.document_id, a.id, 'lead', NULL, s.user_id, $1, a.deadline - interval '1 day', '',
       CASE a.state WHEN 'completed' THEN 'completed' WHEN 'delegated' THEN 'in_progress'
                    ELSE 'active' END,
       CASE a.state WHEN 'completed' THEN 100 ELSE 40 END, '', a.created_at + interval '2 hours',
       a.closed_at
FROM assignments a JOIN bench_specialists s
  ON s.unit_id = a.unit_id AND s.k = a.document_id % $2
WHERE a.parent_id IS NULL AND a.part = 'lead' AND a.state <> 'active'
"""
COOPERATING = """
INSERT INTO assignments (document_id, parent_id, part, unit_id, user_id, assigned_by_id, deadline,
                         direction, state, progress, result, created_at, closed_at)
SELECT a.document_id, NULL, 'cooperate', (SELECT min(id) FROM units WHERE id <> a.unit_id), NULL,
       a.assigned_by_id, a.deadline, '', CASE WHEN a.closed_at IS NULL THEN 'active'
                                              ELSE 'completed' END,
       0, '', a.created_at, a.closed_at
FROM assignments a WHERE a.parent_id IS NULL AND a.part = 'lead' AND a.document_id % 3 = 0
"""


async def add_handling(url: str, agency_id: int, people: dict[str, int]) -> dict[str, int]:
    """Specialists in every unit, then the hops; returns a specialist with overdue work."""
    engine = db.create_engine(url)
    clock = SystemClock()
    rows: list[tuple[int, int, int]] = []
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            agency = await s.get_one(Agency, agency_id)
            existing = {
                name: ident
                for ident, name in await s.execute(
                    select(User.id, User.username).where(User.username.like("cv-%"))
                )
            }
            units = (
                await s.scalars(
                    select(Unit.id).where(Unit.agency_id == agency_id).order_by(Unit.id)
                )
            ).all()
            for unit_id in units:
                unit = await s.get_one(Unit, unit_id)
                for k in range(SPECIALISTS_PER_UNIT):
                    username = f"cv-{unit_id}-{k}"
                    if username not in existing:  # a rerun with --handling-only keeps them
                        person = await users.create_user(
                            s,
                            clock=clock,
                            agency=agency,
                            username=username,
                            full_name=f"Chuyên viên {k + 1} {unit.name}",
                            roles={Role.SPECIALIST},
                            unit=unit,
                        )
                        existing[username] = person.id
                    rows.append((unit_id, k, existing[username]))
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(f"{PG}/{NAME}")
    try:
        await connection.execute("DELETE FROM assignments")
        await connection.execute("DROP TABLE IF EXISTS bench_specialists")
        await connection.execute("CREATE TABLE bench_specialists (unit_id int, k int, user_id int)")
        await connection.copy_records_to_table("bench_specialists", records=rows)
        started = time.perf_counter()
        # The hops' triggers give a million documents their access keys (migration 0019): each
        # document row is rewritten, so the text index is built again afterwards, not updated.
        await connection.execute("DROP INDEX IF EXISTS ix_documents_search_keys")
        await connection.execute(TOP_HOPS, people["leader"])
        await connection.execute(CHILD_HOPS, people["unit_head"], SPECIALISTS_PER_UNIT)
        await connection.execute(COOPERATING)
        await connection.execute(bench_documents.TEXT_INDEX)
        count = await connection.fetchval("SELECT count(*) FROM assignments")
        print(f"  {count:,} hops ({time.perf_counter() - started:.0f} s); analysing…", flush=True)
        await connection.execute("VACUUM ANALYZE assignments")
        await connection.execute("VACUUM ANALYZE documents")
        overdue = await connection.fetchval(
            "SELECT user_id FROM assignments WHERE user_id IS NOT NULL AND state <> 'completed' "
            "AND deadline < now()::date GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"
        )
    finally:
        await connection.close()
    return {"overdue_specialist": int(overdue)}


async def known_people(*, handling: bool = True) -> tuple[dict[str, int], int]:
    connection = await asyncpg.connect(f"{PG}/{NAME}")
    try:
        found = {
            name.removeprefix("bench-"): ident
            for ident, name in await connection.fetch(
                "SELECT id, username FROM users WHERE username LIKE 'bench-%'"
            )
        }
        overdue = 0
        if handling:
            overdue = await connection.fetchval(
                "SELECT user_id FROM assignments WHERE user_id IS NOT NULL AND state <> 'completed'"
                " AND deadline < now()::date GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"
            )
        documents = await connection.fetchval("SELECT count(*) FROM documents")
    finally:
        await connection.close()
    return {
        "leader": found["leader"],
        "unit_head": found["unithead"],
        "overdue_specialist": int(overdue),
    }, int(documents)


async def cold(url: str, people: dict[str, int], repeat: int) -> list[tuple[str, list[float]]]:
    """The computation behind the kept figures, timed in-process (what a refresh costs)."""
    engine = db.create_engine(url)
    found = []
    try:
        async with db.sessionmaker(engine)() as s:
            leader = await s.get_one(User, people["leader"])
            head = await s.get_one(User, people["unit_head"])
        today = SystemClock().now().date()
        for label, scope in (
            ("leader", dashboard.Scope(leader.agency_id)),
            ("unit head", dashboard.Scope(head.agency_id, head.unit_id)),
        ):
            timings = []
            for _ in range(repeat):
                begun = time.perf_counter()
                async with db.sessionmaker(engine)() as s:
                    await dashboard.numbers(
                        s, scope=scope, start=date(2025, 1, 1), end=date(2025, 12, 31), today=today
                    )
                timings.append((time.perf_counter() - begun) * 1000)
            found.append((f"{label}: figures computed", timings))
    finally:
        await engine.dispose()
    return found


async def run(args: argparse.Namespace) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{NAME}"
    if args.handling_only:
        people, documents = await known_people(handling=False)
        connection = await asyncpg.connect(f"{PG}/{NAME}")
        agency_id = await connection.fetchval(
            "SELECT agency_id FROM users WHERE id = $1", people["leader"]
        )
        await connection.close()
        people.update(await add_handling(url, agency_id, people))
    elif args.reuse:
        people, documents = await known_people()
    else:
        print(f"Loading {args.documents:,} documents into PostgreSQL…", flush=True)
        url, created, agency_id, _ = await prepare_database(args.documents)
        people = {
            "leader": created["leader"],
            "unit_head": created["unit_head"],
            **await add_handling(url, agency_id, created),
        }
        documents = args.documents
    work = Path(tempfile.mkdtemp(prefix="eoffice-bench-"))
    redis_port, http_port = free_port(), free_port()
    redis = subprocess.Popen(  # noqa: ASYNC220 - a benchmark harness, not the app
        [redis_server_binary(), "--port", str(redis_port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "EOFFICE_DATA_DIR": str(work),
        "EOFFICE_DATABASE_URL": url,
        "EOFFICE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "EOFFICE_SCHEDULER": "0",
        "EOFFICE_BASE_URL": f"http://localhost:{http_port}",
        "EOFFICE_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "backend", "serve", "--port", str(http_port)], env=env
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:  # noqa: ASYNC210
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.2)
        client = aioredis.Redis.from_url(f"redis://127.0.0.1:{redis_port}/0")
        limits = SessionLimits(idle=timedelta(hours=8), absolute=timedelta(hours=12))
        cookies = {}
        for role in ("leader", "unit_head"):
            session_id, _ = await sessions.start(
                client,
                clock=SystemClock(),
                limits=limits,
                user_id=people[role],
                device="bench",
                ip="127.0.0.1",
            )
            cookies[role] = session_id
        await client.aclose()
        year = "year=2025"
        person = people["overdue_specialist"]
        async with httpx.AsyncClient(base_url=base, timeout=600) as http:

            def page(role: str, path: str) -> httpx.Response:
                return http.get(path, cookies={"eoffice_session": cookies[role]})  # type: ignore[return-value]

            cases = {
                "healthz (baseline)": lambda: http.get("/healthz"),
                "leader: dashboard": lambda: page("leader", f"/dashboard?{year}"),
                "leader: drill-down status": lambda: page(
                    "leader", f"/dashboard/list?{year}&metric=status&key=06"
                ),
                "leader: drill-down person": lambda: page(
                    "leader", f"/dashboard/list?{year}&metric=overdue-person&key={person}"
                ),
                "leader: CSV": lambda: page("leader", f"/dashboard.csv?{year}"),
                "unit head: dashboard": lambda: page("unit_head", f"/dashboard?{year}"),
                "unit head: drill-down": lambda: page(
                    "unit_head", f"/dashboard/list?{year}&metric=status&key=06"
                ),
                "unit head: CSV": lambda: page("unit_head", f"/dashboard.csv?{year}"),
            }
            for label, call in cases.items():  # warm caches and connections
                await measure(label, call, clients=1, requests=3)  # type: ignore[arg-type]
            rows = []
            for label, call in cases.items():
                timings, failed = await measure(label, call, clients=1, requests=args.requests)  # type: ignore[arg-type]
                rows.append((label, timings, failed))
        computed = await cold(url, people, args.cold)
        baseline = percentile(rows[0][1], 50)
        load = os.getloadavg()
        print(
            f"\n{documents:,} documents, PostgreSQL, one `eoffice serve` process, year 2025, "
            f"{args.requests} requests per case, load average {load[0]:.1f} {load[1]:.1f}"
        )
        print(f"{'case':28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p50 ×hz':>8}")
        for label, timings, failed in rows:
            p50, p95 = percentile(timings, 50), percentile(timings, 95)
            print(f"{label:28} {p50:8.1f} {p95:8.1f} {max(timings):8.1f} {p50 / baseline:8.1f}"
                  f"{'' if not failed else f'  ({failed} failed)'}")  # fmt: skip
        print(
            "Cold: the aggregate queries behind the kept figures, in-process (a background "
            "refresh after a change; inline only when nothing is kept yet)"
        )
        for label, timings in computed:
            print(
                f"{label:28} {percentile(timings, 50):8.1f} {percentile(timings, 95):8.1f} "
                f"{max(timings):8.1f}"
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
        redis.terminate()
        redis.wait(timeout=10)
        if not args.keep and not args.reuse and not args.handling_only:
            admin = await asyncpg.connect(f"{PG}/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="per case")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--cold", type=int, default=5, help="in-process computations per scope")
    parser.add_argument(
        "--handling-only",
        action="store_true",
        help="keep the loaded documents, (re)build their handling",
    )
    parser.add_argument("--reuse", action="store_true", help="measure the kept database")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
