"""The demo province with its six months of history: how long `eoffice demo` takes (run on demand).

    .venv/bin/python bench/bench_demo.py              # SQLite
    .venv/bin/python bench/bench_demo.py --pg         # and PostgreSQL (127.0.0.1:5432)
    .venv/bin/python bench/bench_demo.py --months 12 --daily 40

On each database (fresh, migrated): the small demo (`--months 0`: users, five documents, as the
tests load it) and the full one (`eoffice demo`'s default: six months, drafts waiting), each in
its own database and transaction, as the command runs it (a blob store, one PDF worker). Baseline
in the same run: a bare executemany INSERT, into a scratch table, of as many rows as the full
build wrote, each as wide as a document's search text. Target (issue #16): the full build in
≤ 30 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core import db, migrate
from backend.core.blobs import FileBlobStore
from backend.core.clock import FixedClock
from backend.core.models import AuditEntry
from backend.demo import province
from backend.demo.history import DAILY_INCOMING, DEFAULT_SEED
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.documents.workers import PdfWorkers
from backend.workflow.tables import Assignment, DirectionRequest, TimelineEvent

PG = "postgresql://postgres@127.0.0.1:5432"
NAME = "eoffice_bench_demo"
TABLES = (
    Document,
    DocumentFile,
    FileVersion,
    Assignment,
    TimelineEvent,
    DirectionRequest,
    AuditEntry,
)


async def _build(url: str, work: Path, *, months: int, daily: int) -> tuple[float, int, int]:
    """(seconds, documents, rows in the demo's tables) of one build in a fresh database."""
    engine = db.create_engine(url)
    await migrate.upgrade(engine)
    workers = PdfWorkers(1)
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    try:
        begun = time.perf_counter()
        async with db.sessionmaker(engine)() as s, s.begin():
            summary = await province.load(
                s,
                clock=clock,
                blobs=FileBlobStore(work / "blobs"),
                workers=workers,
                months=months,
                seed=DEFAULT_SEED,
                daily=daily,
            )
        seconds = time.perf_counter() - begun
        async with db.sessionmaker(engine)() as s:
            rows = 0
            for table in TABLES:
                rows += int(await s.scalar(select(func.count()).select_from(table)) or 0)
        return seconds, summary.documents, rows
    finally:
        workers.close()
        await engine.dispose()


async def _baseline(url: str, rows: int) -> float:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as c:
            await c.execute(text("CREATE TABLE bench_scratch (id INTEGER, body TEXT)"))
        params = [{"id": n, "body": "van ban mau " * 20} for n in range(rows)]
        begun = time.perf_counter()
        async with engine.begin() as c:
            await c.execute(text("INSERT INTO bench_scratch VALUES (:id, :body)"), params)
        return time.perf_counter() - begun
    finally:
        await engine.dispose()


async def _fresh_pg() -> str:
    admin = await asyncpg.connect(f"{PG}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{NAME}"')
    finally:
        await admin.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{NAME}"


async def _drop_pg() -> None:
    admin = await asyncpg.connect(f"{PG}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    finally:
        await admin.close()


async def bench(database: str, args: argparse.Namespace) -> list[tuple[str, str]]:
    work = Path(tempfile.mkdtemp(prefix="eoffice-bench-demo-"))
    count = 0

    async def fresh() -> str:
        nonlocal count
        count += 1
        if database == "PostgreSQL":
            return await _fresh_pg()
        return f"sqlite+aiosqlite:///{work / f'bench{count}.db'}"

    out: list[tuple[str, str]] = []
    try:
        small, small_docs, _ = await _build(await fresh(), work / "small", months=0, daily=0)
        print(f"  {database}: small demo: {small:.2f} s", flush=True)
        full, docs, rows = await _build(
            await fresh(), work / "full", months=args.months, daily=args.daily
        )
        print(f"  {database}: full demo: {full:.2f} s", flush=True)
        baseline = await _baseline(await fresh(), rows)
    finally:
        if database == "PostgreSQL":
            await _drop_pg()
    out.append(("baseline: bare INSERT of as many rows", f"{baseline:8.2f} s  {rows:,} rows"))
    out.append(("small demo (--months 0)", f"{small:8.2f} s  {small_docs:,} documents"))
    out.append(
        (
            f"full demo ({args.months} months, {args.daily}/day)",
            f"{full:8.2f} s  {docs:,} documents",
        )
    )
    out.append(("(full / baseline)", f"{full / baseline:8.1f} ×"))
    out.append(("(full / small)", f"{full / small:8.1f} ×"))
    out.append(("target ≤ 30 s", "met" if full <= 30 else "MISSED"))
    return out


async def run(args: argparse.Namespace) -> None:
    results = {"SQLite": await bench("SQLite", args)}
    if args.pg:
        results["PostgreSQL"] = await bench("PostgreSQL", args)
    load = os.getloadavg()
    print(f"\nload average {load[0]:.1f} {load[1]:.1f}, {os.cpu_count()} CPUs")
    for database, lines in results.items():
        print(f"\n{database}")
        for name, value in lines:
            print(f"  {name:44} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=6, help="months of history (default 6)")
    parser.add_argument(
        "--daily", type=int, default=DAILY_INCOMING, help="incoming documents a working day"
    )
    parser.add_argument("--pg", action="store_true", help="PostgreSQL as well")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
