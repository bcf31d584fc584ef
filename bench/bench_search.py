"""Search at a million documents on PostgreSQL, in the database (run on demand, not a test).

    .venv/bin/python bench/bench_documents.py --keep --requests 20 --crowd-requests 1   # load
    .venv/bin/python bench/bench_search.py                                             # measure

Calls `documents.search.search` as the search page does (a page of 50) for a leader (the
agency), a unit head (their unit) and a specialist (what was given to them), one client in a
loop over the benchmark's queries (common words included), plus words the documents do not
contain; the baseline, measured in the same run, is the plain list (`queries.list_rows`, the
newest 50 of the agency). Target (issue #14): search p95 <= 50 ms at 1,000,000 documents.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_documents import NAME, QUERIES, percentile

from backend.core import db
from backend.core.models import Role
from backend.documents import queries, search
from backend.identity.policy import Principal

ABSENT = ("khong co tu nay", "zzzz", "quyet dinh xyzw")


async def main() -> None:
    engine = db.create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{NAME}")
    sessions = db.sessionmaker(engine)
    people = {
        "leader": Principal(user_id=1, agency_id=1, unit_id=None, roles=frozenset({Role.LEADER})),
        "unit head": Principal(
            user_id=2, agency_id=1, unit_id=1, roles=frozenset({Role.UNIT_HEAD})
        ),
        "specialist": Principal(
            user_id=3, agency_id=1, unit_id=1, roles=frozenset({Role.SPECIALIST})
        ),
    }

    async def timed(call: object) -> float:
        async with sessions() as s, s.begin():
            started = time.perf_counter()
            await call(s)  # type: ignore[operator]
            return (time.perf_counter() - started) * 1000

    rows: list[tuple[str, list[float]]] = []
    leader = queries.document_scope(people["leader"])
    everything = queries.INBOXES["van-ban-den"].filters
    baseline = [
        await timed(lambda s: queries.list_rows(s, scope=leader, filters=everything, limit=50))
        for _ in range(60)
    ]
    rows.append(("list, newest 50 (baseline)", baseline))
    for who, principal in people.items():
        scope = queries.document_scope(principal)
        for label, words in (("benchmark queries", QUERIES), ("absent words", ABSENT)):
            times = []
            for _ in range(6):
                for q in words:
                    times.append(
                        await timed(
                            lambda s, q=q, scope=scope: search.search(
                                s, query=q, scope=scope, limit=50
                            )
                        )
                    )
            rows.append((f"{who}: search, {label}", times))
    base = statistics.median(baseline)
    print(f"{'case':44} {'p50':>8} {'p95':>8} {'p99':>8} {'×list':>6}")
    for label, times in rows:
        p50, p95, p99 = (percentile(times, p) for p in (50, 95, 99))
        print(f"{label:44} {p50:8.1f} {p95:8.1f} {p99:8.1f} {p50 / base:6.1f}")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
