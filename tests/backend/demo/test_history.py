"""The demo's months of history: deterministic from its seed, and written with the invariants the
domain keeps (gap-free registers, statuses that follow the hops, drafts in each leader's queue)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.core import audit, db
from backend.core.blobs import FileBlobStore
from backend.core.clock import VIETNAM, FixedClock
from backend.demo import province
from backend.demo.history import Planner, Staff, issuers
from backend.documents import search, textnorm
from backend.documents.catalogue import Status
from backend.documents.tables import Document, DocumentFile, FileVersion, RegisterCounter
from backend.documents.workers import PdfWorkers
from backend.signing_flow import drafts
from backend.workflow import dashboard
from backend.workflow.tables import OPEN_STATES, Assignment, State

pytestmark = pytest.mark.anyio

# Wednesday 4 March 2026, 10:00 in Hà Nội: the history crosses 1 January (two register years).
NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)


def _plan(seed: int) -> list[tuple[str, object, object, str]]:
    names = [
        "chutich",
        "phochutich",
        "chanhvanphong",
        "vanthu",
        "truongphongkt",
        "truongphongnc",
        "truongphongkgvx",
    ] + [f"chuyenvien{i}" for i in range(1, 8)]
    staff = Staff(
        office_id=1,
        office_short="VP",
        province_short="UBND",
        users={n: i for i, n in enumerate(names, 1)},
        names={n: (n, n) for n in names},
        units={u: i for i, u in enumerate(["TH", "KT", "NC", "KGVX"], 1)},
    )
    plan = Planner(
        staff=staff,
        issuers=issuers(province.DIRECTORY, exclude={province.PROVINCE_CODE}),
        seed=seed,
        now=NOW,
        months=1,
        daily_incoming=6,
        daily_outgoing=2,
    ).plan()
    return [
        (str(d.row["subject"]), d.row["register_number"], d.row["number"], str(d.row["status"]))
        for d in plan.incoming + plan.outgoing
    ]


def test_the_same_seed_gives_the_same_months() -> None:
    first = _plan(7)
    assert first == _plan(7)
    assert first != _plan(8)
    assert len(first) > 100
    subjects = " ".join(s for s, *_ in first)
    assert "Về việc" in subjects and "năm 2026" in subjects  # Vietnamese, with diacritics


async def test_months_of_history_keep_the_registers_and_the_workflow_consistent(
    database_url: str, tmp_path: Path
) -> None:
    engine = db.create_engine(database_url)
    workers = PdfWorkers(1)
    blobs = FileBlobStore(tmp_path / "blobs")
    clock = FixedClock(NOW)
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            summary = await province.load(
                s, clock=clock, blobs=blobs, workers=workers, months=3, daily=5
            )
        assert summary.created and summary.documents > 300
        async with db.sessionmaker(engine)() as s:
            docs = list(await s.scalars(select(Document).order_by(Document.id)))
            hops = list(await s.scalars(select(Assignment)))
            counters = {
                (c.direction, c.year, c.series): c.value
                for c in await s.scalars(select(RegisterCounter))
            }
            # Registers: each series of each year runs 1..N without a gap, in order of arrival,
            # and its counter stands at N (today's five documents continued the history's).
            series: dict[tuple[str, int | None, str], list[Document]] = defaultdict(list)
            for d in docs:
                if d.register_number is not None:
                    series[(d.direction, d.register_year, d.register_series)].append(d)
            assert ("incoming", 2025, "den") in series and ("incoming", 2026, "den") in series
            for key, members in series.items():
                numbers = sorted(d.register_number or 0 for d in members)
                assert numbers == list(range(1, len(members) + 1)), key
                assert counters[key] == len(members)  # type: ignore[index]
                if key[0] == "incoming":
                    arrival = sorted(members, key=lambda d: (d.received_at, d.register_number))
                    assert [d.register_number for d in arrival] == numbers
            # Statuses follow the hops: 03 unrouted, 04/05 an open chủ trì, 06 a completed
            # one, 02 one returned with nothing left open.
            by_doc: dict[int, list[Assignment]] = defaultdict(list)
            for hop in hops:
                by_doc[hop.document_id].append(hop)
                assert hop.deadline is None or hop.deadline > hop.created_at
                assert hop.closed_at is None or hop.closed_at >= hop.created_at
            seen = set()
            for d in (d for d in docs if d.direction == "incoming"):
                top = [h for h in by_doc[d.id] if h.parent_id is None and h.part == "lead"]
                seen.add(d.status)
                if d.status == Status.REGISTERED:
                    assert top == []
                elif d.status in (Status.ASSIGNED, Status.IN_PROGRESS):
                    assert [h.state for h in top if h.state in OPEN_STATES], d.id
                    leaves = [
                        h for h in by_doc[d.id] if h.part == "lead" and h.state != "delegated"
                    ]
                    in_progress = any(h.state == State.IN_PROGRESS for h in leaves)
                    assert in_progress == (d.status == Status.IN_PROGRESS), d.id
                elif d.status == Status.COMPLETED:
                    assert [h.state for h in top] == [State.COMPLETED]
                elif d.status == Status.RETURNED:
                    assert [h.state for h in top] == [State.RETURNED]
                    assert not [h for h in by_doc[d.id] if h.state in OPEN_STATES]
            assert {"02", "03", "04", "05", "06"} <= seen
            overdue = [
                h
                for h in hops
                if h.parent_id is None
                and h.state in OPEN_STATES
                and h.deadline
                and h.deadline < NOW
                and h.part == "lead"
            ]
            assert overdue
            # Each document's page count is its stored file's; the file is in the blob store.
            stored = {
                doc_id: (count, sha256)
                for doc_id, count, sha256 in await s.execute(
                    select(DocumentFile.document_id, FileVersion.page_count, FileVersion.sha256)
                    .join(FileVersion, FileVersion.file_id == DocumentFile.id)
                    .where(FileVersion.version == 1, DocumentFile.kind == "main")
                )
            }
            assert all(d.page_count == stored[d.id][0] for d in docs)
            for count, sha256 in set(stored.values()):
                data = await blobs.get(sha256)
                info = await workers.inspect(data, name="f.pdf", max_bytes=len(data), max_pages=99)
                assert info.page_count == count
            # Search text folded like intake's: a subject found without its diacritics.
            sample = next(d for d in docs if d.direction == "incoming")
            assert textnorm.fold(sample.subject) in sample.search_text
            found = await search.search(
                s,
                query=textnorm.fold(sample.subject),
                scope=Document.agency_id == sample.agency_id,
                limit=500,
            )
            assert sample.id in {d.id for d in found.documents}
            # Drafts wait for each leader, one Hỏa tốc for the chairman; one was sent back.
            leaders = {
                u.username: u
                for u in await s.scalars(
                    select(province.User).where(
                        province.User.username.in_(["chutich", "phochutich", "chuyenvien2"])
                    )
                )
            }
            chairman = await drafts.to_sign(s, signer_id=leaders["chutich"].id)
            assert chairman and chairman[0].document.urgency == 3
            assert await drafts.to_sign(s, signer_id=leaders["phochutich"].id)
            mine = await drafts.my_drafts(s, author_id=leaders["chuyenvien2"].id)
            assert [m.returned.body for m in mine if m.returned]
            # The dashboard has the months: people, weeks, completions, overdue.
            today = NOW.astimezone(VIETNAM).date()
            figures = await dashboard.numbers(
                s,
                scope=dashboard.Scope(agency_id=sample.agency_id),
                start=today - timedelta(days=100),
                end=today,
                today=today,
            )
            assert figures.completed and figures.overdue_by_unit and len(figures.people) >= 5
            assert sum(received for _, received, _ in figures.weeks) > 100
            assert (await audit.verify_chain(s)).intact
        # Idempotent: a second run changes nothing.
        async with db.sessionmaker(engine)() as s, s.begin():
            again = await province.load(
                s, clock=clock, blobs=blobs, workers=workers, months=3, daily=5
            )
            assert not again.created and again.documents == summary.documents
            assert await s.scalar(select(func.count()).select_from(Document)) == len(docs)
    finally:
        workers.close()
        await engine.dispose()
    assert date(2026, 3, 4) == today
