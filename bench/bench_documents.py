"""Document lists and search at scale, over HTTP, on PostgreSQL (run on demand, not a test).

    .venv/bin/python bench/bench_documents.py                  # 1,000,000 documents
    .venv/bin/python bench/bench_documents.py --documents 20000 --keep

Loads synthetic documents into a fresh PostgreSQL database (127.0.0.1:5432), starts a real
`eoffice serve` on it, signs in a leader, a unit head and a specialist (sessions written straight
into the server's Redis), and measures latency of list and search pages: one client in a loop,
then 100 concurrent clients. `/healthz` (one trivial query and a Redis ping) is measured in the
same run as the baseline; ratios are against its p50.
Targets (issue #4): p95 <= 50 ms for one client, p99 <= 150 ms with 100 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import organisations
from backend.core import db, migrate
from backend.core.clock import SystemClock
from backend.core.embedded_redis import redis_server_binary
from backend.core.models import Role
from backend.documents.textnorm import fold
from backend.identity import sessions, users
from backend.identity.sessions import SessionLimits

PG = "postgresql://postgres@127.0.0.1:5432"
NAME = "eoffice_bench"
WORDS = [
    "quyết",
    "định",
    "kế",
    "hoạch",
    "báo",
    "cáo",
    "công",
    "văn",
    "thông",
    "báo",
    "tờ",
    "trình",
    "hướng",
    "dẫn",
    "chỉ",
    "thị",
    "ngân",
    "sách",
    "đầu",
    "tư",
    "xây",
    "dựng",
    "giáo",
    "dục",
    "y",
    "tế",
    "giao",
    "thông",
    "nông",
    "nghiệp",
    "thủy",
    "lợi",
    "đất",
    "đai",
    "môi",
    "trường",
    "tài",
    "nguyên",
    "cải",
    "cách",
    "hành",
    "chính",
    "chuyển",
    "đổi",
    "số",
    "phòng",
    "chống",
    "thiên",
    "tai",
    "dịch",
    "bệnh",
    "an",
    "ninh",
    "trật",
    "tự",
    "kiểm",
    "tra",
    "thanh",
    "tra",
    "tuyển",
    "dụng",
    "cán",
    "bộ",
    "công",
    "chức",
    "viên",
    "chức",
    "khen",
    "thưởng",
    "kỷ",
    "luật",
    "quy",
    "hoạch",
    "đô",
    "thị",
    "nông",
    "thôn",
    "mới",
    "phê",
    "duyệt",
    "dự",
    "toán",
    "quyết",
    "toán",
    "thực",
    "hiện",
    "triển",
    "khai",
    "tổng",
    "kết",
    "đánh",
    "giá",
    "năm",
    "quý",
    "tháng",
    "tỉnh",
    "huyện",
    "xã",
    "sở",
    "ban",
    "ngành",
    "Đồng",
    "Nai",
    "Bình",
    "Dương",
    "Tây",
    "Ninh",
    "Long",
    "An",
    "Hà",
    "Nội",
    "Đà",
    "Nẵng",
]
TYPES = ("QD", "CV", "BC", "KH", "TB", "TTR", "HD", "CT", "GM")
SYMBOLS = {
    "QD": "QĐ",
    "CV": "",
    "BC": "BC",
    "KH": "KH",
    "TB": "TB",
    "TTR": "TTr",
    "HD": "HD",
    "CT": "CT",
    "GM": "GM",
}
ISSUERS = ("UBND", "STC", "SNV", "SKHĐT", "SGDĐT", "SYT", "SGTVT", "STNMT", "CAT", "BCHQS")
QUERIES = (
    "quyet dinh",
    "ngan sach",
    "chuyen doi so",
    "dong nai",
    "ke hoach nam",
    "phong chong thien tai",
    "can bo cong chuc",
    "123/QĐ",
    "bao cao quy",
    "xay dung",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(base: str, server: subprocess.Popen[bytes], seconds: float) -> bool:
    """Whether the server process answers /healthz within `seconds` (False once it exits)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def prepare_database(count: int) -> tuple[str, dict[str, int], int, int]:
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{NAME}"')
    await admin.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{NAME}"
    engine = db.create_engine(url)
    await migrate.upgrade(engine)
    clock = SystemClock()
    async with db.sessionmaker(engine)() as s, s.begin():
        agency = await organisations.create_agency(
            s,
            clock=clock,
            code="000.00.01.H99",
            name="Văn phòng UBND tỉnh (bench)",
            short_name="VP",
        )
        unit_ids = []
        for index in range(8):
            unit = await organisations.create_unit(
                s, clock=clock, agency=agency, name=f"Phòng {index}", short_name=f"P{index}"
            )
            unit_ids.append(unit.id)
        people = {}
        for role, unit in (
            (Role.LEADER, None),
            (Role.UNIT_HEAD, unit_ids[0]),
            (Role.SPECIALIST, unit_ids[0]),
        ):
            person = await users.create_user(
                s,
                clock=clock,
                agency=agency,
                username=f"bench-{role.value}".replace("_", ""),
                full_name=f"Bench {role.value}",
                roles={role},
                unit=await s.get(organisations.Unit, unit) if unit else None,
            )
            people[role.value] = person.id
        agency_id = agency.id
    await engine.dispose()

    connection = await asyncpg.connect(f"{PG}/{NAME}")
    # The search vector and word prefixes are stored generated columns, the access keys kept by
    # triggers (migrations 0018, 0019): computed as rows arrive, indexed once they are all in.
    await connection.execute("DROP INDEX ix_documents_search_keys")
    rng = random.Random(42)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    columns = ["agency_id", "direction", "type_code", "number", "symbol", "issue_date",
               "issue_place", "issuer_name", "issuer_code", "issuer_key", "subject", "signer_name",
               "signer_title", "signer_competence", "urgency", "page_count", "source", "status",
               "recipients", "register_year", "register_series", "register_number", "unit_id",
               "signature_check", "search_text", "created_at"]  # fmt: skip
    loaded = 0
    started = time.perf_counter()
    while loaded < count:
        batch = []
        for index in range(loaded, min(count, loaded + 50_000)):
            kind = rng.choice(TYPES)
            issuer = rng.choice(ISSUERS)
            symbol = f"{SYMBOLS[kind]}-{issuer}" if SYMBOLS[kind] else f"{issuer}-VP"
            number = index + 1  # unique: the register refuses true duplicates
            subject = " ".join(rng.choices(WORDS, k=rng.randint(8, 18))).capitalize()
            created = start + timedelta(seconds=index * 50 + rng.randint(0, 40))
            batch.append(
                (
                    agency_id,
                    "incoming",
                    kind,
                    number,
                    symbol,
                    created.date() - timedelta(days=2),
                    "",
                    f"Cơ quan {issuer}",
                    "",
                    fold(f"Cơ quan {issuer}"),
                    subject,
                    "",
                    "",
                    "",
                    rng.choice((0, 0, 0, 1, 2, 3)),
                    rng.randint(1, 30),
                    "truc-lien-thong",
                    rng.choice(("03", "04", "05", "06")),
                    "",
                    created.year,
                    "den",
                    index + 1,
                    unit_ids[index % len(unit_ids)],
                    "{}",
                    fold(f"{number}/{symbol} {subject}"),
                    created,
                )
            )
        await connection.copy_records_to_table("documents", records=batch, columns=columns)
        loaded += len(batch)
        print(f"  loaded {loaded:,} documents ({time.perf_counter() - started:.0f} s)", flush=True)
    print("  building the search index and statistics…", flush=True)
    await connection.execute(TEXT_INDEX)
    await connection.execute("ANALYZE")
    await connection.close()
    return url, people, agency_id, unit_ids[0]


# Migration 0019's index, built once the rows are in.
TEXT_INDEX = (
    "CREATE INDEX ix_documents_search_keys ON documents "
    "USING gin (search_vector, search_prefixes, access_keys)"
)


async def measure(
    name: str, call: Callable[[], Awaitable[httpx.Response]], *, clients: int, requests: int
) -> tuple[list[float], int]:
    """Latencies of successful requests, and how many failed (non-200 or transport error)."""
    timings: list[float] = []
    failures = 0

    async def one_client() -> None:
        nonlocal failures
        for _ in range(requests):
            begun = time.perf_counter()
            try:
                response = await call()
            except httpx.TransportError:
                failures += 1
                continue
            if response.status_code == 200:
                timings.append((time.perf_counter() - begun) * 1000)
            else:
                failures += 1

    await asyncio.gather(*(one_client() for _ in range(clients)))
    if not timings:
        raise RuntimeError(f"{name}: every request failed")
    return timings, failures


async def run(args: argparse.Namespace) -> None:
    print(f"Loading {args.documents:,} documents into PostgreSQL…", flush=True)
    url, people, _, _ = await prepare_database(args.documents)
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
        for role, user_id in people.items():
            session_id, _ = await sessions.start(
                client,
                clock=SystemClock(),
                limits=limits,
                user_id=user_id,
                device="bench",
                ip="127.0.0.1",
            )
            cookies[role] = session_id
        await client.aclose()

        # Drop idle connections before uvicorn does (its keep-alive is 5 s): no stale reuse.
        limits_http = httpx.Limits(
            max_connections=200, max_keepalive_connections=200, keepalive_expiry=1.0
        )
        async with httpx.AsyncClient(base_url=base, limits=limits_http, timeout=600) as http:
            rng = random.Random(7)

            def page(role: str, path: str) -> Callable[[], Awaitable[httpx.Response]]:
                def call() -> Awaitable[httpx.Response]:
                    target = path.format(q=rng.choice(QUERIES), d=date(2025, rng.randint(1, 12), 1))
                    return http.get(target, cookies={"eoffice_session": cookies[role]})

                return call

            cases = {
                "healthz (baseline)": lambda: http.get("/healthz"),
                "leader: list, newest": page("leader", "/documents?inbox=van-ban-den"),
                "leader: list, filtered": page(
                    "leader", "/documents?inbox=van-ban-den&urgency=3&from={d}"
                ),
                "leader: search": page("leader", "/documents/search?q={q}"),
                "unit head: list": page("unit_head", "/documents?inbox=van-ban-den"),
                "unit head: search": page("unit_head", "/documents/search?q={q}"),
                "specialist: list": page("specialist", "/documents?inbox=van-ban-den"),
                "specialist: search": page("specialist", "/documents/search?q={q}"),
            }
            for label, call in cases.items():  # warm caches and connections
                await measure(label, call, clients=1, requests=5)
            rows = []
            for label, call in cases.items():
                single, single_failed = await measure(
                    label, call, clients=1, requests=args.requests
                )
                crowd, crowd_failed = await measure(
                    label, call, clients=100, requests=args.crowd_requests
                )
                rows.append((label, single, crowd, single_failed + crowd_failed))
        baseline_single = statistics.median(rows[0][1])
        baseline_crowd = statistics.median(rows[0][2])
        print(f"\n{args.documents:,} documents, PostgreSQL, one `eoffice serve` process")
        print(f"{'case':28} {'1 client p50/p95/p99 ms':>26} {'×hz':>5}   "
              f"{'100 clients p50/p95/p99 ms':>28} {'×hz':>5}  failures")  # fmt: skip
        for label, single, crowd, failed in rows:
            s50, s95, s99 = (percentile(single, p) for p in (50, 95, 99))
            c50, c95, c99 = (percentile(crowd, p) for p in (50, 95, 99))
            print(f"{label:28} {s50:8.1f} {s95:8.1f} {s99:8.1f} {s50 / baseline_single:5.1f}   "
                  f"{c50:9.1f} {c95:9.1f} {c99:9.1f} {c50 / baseline_crowd:5.1f}"
                  f"{'' if not failed else f'  ({failed} failed)'}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=20)
        redis.terminate()
        redis.wait(timeout=10)
        if not args.keep:
            admin = await asyncpg.connect(f"{PG}/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="per case, one client")
    parser.add_argument("--crowd-requests", type=int, default=10, help="per client, 100 clients")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
