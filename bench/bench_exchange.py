"""The exchange over the national axis, against `eoffice axis-sim` (run on demand, not a test).

    .venv/bin/python bench/bench_exchange.py [--recipients 100] [--packets 1000]

1. Send: one issued document (a 3-page PDF) to N recipients — from the dispatch's commit (the
   packet built once and stored) until every delivery is `sent` with its axis DocId, by one
   run of the send job. Baseline in the same run: the bare VXP client sending the same packet
   to the same N recipients, as many at once as the job sends (`axis_send_concurrency`).
   Target (issue #13): 100 recipients delivered <= 5 s.
2. Receive: M packets (distinct documents, each with a PDF) wait on the axis; one poll job
   takes them all in — fetched, stored, acknowledged, read, PDF checked, 01 queued. Baseline
   in the same run: the bare client listing, fetching and acknowledging M other packets.
   Target: >= 20 packets/s per worker.

A real axis simulator process, a SQLite database in a temp dir, a redis-server, the app's
resources in process (its PDF worker pool included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from backend.core import db, migrate
from backend.core.embedded_redis import EmbeddedRedis
from backend.core.jobs import ClaimedJob, Job
from backend.interchange import edxml, inbox, outbox
from backend.interchange.packet import Code
from backend.interchange.tables import AxisDelivery, AxisDispatch, AxisReceived
from backend.interchange.vxp import VxpClient
from signing.samples import make_sample_pdf
from tests.backend.interchange.conftest import (
    FINANCE,
    PROVINCE,
    SECRETS,
    SYSTEMS,
    Office,
    finance_office,
    issued_document,
    province_office,
    send,
)
from tests.conftest import make_settings
from tests.support.axis_sim import AxisSimProcess

OTHERS = "00.60.W00"
SAMPLE = Path(__file__).resolve().parents[1] / "tests/backend/interchange/samples/edoc_update.edxml"


def recipient_codes(count: int) -> list[str]:
    return [f"{n // 100:03d}.{n % 100:02d}.40.H53" for n in range(1, count + 1)]


def start_axis(workdir: Path, recipients: list[str]) -> AxisSimProcess:
    secrets = {**SECRETS, OTHERS: "secret-of-the-others"}
    config = {
        "systems": secrets,
        "registered": {
            SYSTEMS["province"]: [PROVINCE, "000.00.01.H53"],
            SYSTEMS["finance"]: [FINANCE],
            OTHERS: recipients,
        },
        "directory": [{"code": PROVINCE, "name": "UBND tỉnh Tây Ninh", "parent": None}]
        + [{"code": c, "name": f"UBND xã {c}", "parent": PROVINCE} for c in recipients],
    }
    path = workdir / "axis.json"
    path.write_text(json.dumps(config, ensure_ascii=False))
    return AxisSimProcess(workdir / "axis", "--config", str(path)).start()


async def database(workdir: Path, name: str) -> str:
    url = f"sqlite+aiosqlite:///{workdir / name}.db"
    engine = db.create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    return url


async def bench_send(office: Office, axis: AxisSimProcess, recipients: list[str]) -> None:
    document_id = await issued_document(office)
    started = time.perf_counter()
    await send(office, document_id, *recipients)
    async with office.res.sessions() as s:
        job = await s.scalar(select(Job).where(Job.kind == outbox.SEND_JOB))
    assert job is not None
    claimed = ClaimedJob(job.id, job.kind, job.payload, 1, 5, job.run_at, None, "bench")
    await outbox.send_job(office.res, claimed)
    elapsed = time.perf_counter() - started
    async with office.res.sessions() as s:
        sent = await s.scalar(
            select(func.count()).where(
                AxisDelivery.document_id == document_id, AxisDelivery.state == "sent"
            )
        )
        record = await s.scalar(select(AxisDispatch).where(AxisDispatch.document_id == document_id))
        assert record is not None
    packet = await office.res.blobs.get(record.packet_sha256)
    assert sent == len(recipients), f"{sent} of {len(recipients)} sent"

    # Baseline: the bare client, the same packet, the same recipients, as many at once.
    client = VxpClient(
        base_url=axis.api_url, system_id=SYSTEMS["province"], secret=SECRETS[SYSTEMS["province"]]
    )
    gate = asyncio.Semaphore(office.res.settings.axis_send_concurrency)

    async def one(code: str) -> None:
        async with gate:
            await client.send_edoc(from_code=PROVINCE, message_type="edoc", data=packet, to=[code])

    raw_started = time.perf_counter()
    await asyncio.gather(*(one(code) for code in recipients))
    raw = time.perf_counter() - raw_started
    await client.aclose()
    print(
        f"send to {len(recipients)} recipients ({len(packet) / 1024:.0f} KB packet): "
        f"{elapsed:.2f} s through eOffice (dispatch + job), {raw:.2f} s bare client "
        f"(baseline) — ratio {elapsed / raw:.2f}; target <= 5 s: {'met' if elapsed <= 5 else 'MISSED'}"
    )


async def load_packets(axis: AxisSimProcess, count: int, start: int) -> None:
    """`count` distinct documents from the province to the Sở, waiting on the axis."""
    sample = edxml.parse_document(SAMPLE.read_bytes())
    pdf = make_sample_pdf(pages=2, title="Về việc tổng hợp báo cáo định kỳ")
    template = replace(
        sample,
        sender=replace(sample.sender, organ_id=PROVINCE),
        recipients=(replace(sample.recipients[0], organ_id=FINANCE),),
        attachments=(
            replace(
                sample.attachments[0], name="van-ban.pdf", content_type="application/pdf", data=pdf
            ),
        ),
    )
    client = VxpClient(
        base_url=axis.api_url, system_id=SYSTEMS["province"], secret=SECRETS[SYSTEMS["province"]]
    )
    gate = asyncio.Semaphore(8)

    async def one(n: int) -> None:
        packet = replace(
            template,
            code=Code(number=str(n), notation="UBND-KT"),
            document_id=f"{PROVINCE},2026/12/04,{n}/UBND-KT",
            business=replace(template.business, doc_type=0, document_id=""),
        )
        async with gate:
            await client.send_edoc(
                from_code=PROVINCE, message_type="edoc", data=edxml.build_document(packet)
            )

    await asyncio.gather(*(one(n) for n in range(start, start + count)))
    await client.aclose()


async def bench_receive(office: Office, axis: AxisSimProcess, count: int) -> None:
    # Baseline: the bare client takes in `count` packets (list, get, ack), storing nothing.
    await load_packets(axis, count, 1)
    client = VxpClient(
        base_url=axis.api_url, system_id=SYSTEMS["finance"], secret=SECRETS[SYSTEMS["finance"]]
    )
    raw_started = time.perf_counter()
    listed = await client.received(message_type="edoc")
    for item in listed:
        await client.get_edoc(item.doc_id)
        await client.update_status(item.doc_id, "done")
    raw = time.perf_counter() - raw_started
    await client.aclose()
    assert len(listed) == count, len(listed)

    await load_packets(axis, count, 10_001)
    started = time.perf_counter()
    now = office.res.clock.now()
    await inbox.poll_job(office.res, ClaimedJob(0, inbox.POLL_JOB, {}, 1, 1, now, None, "bench"))
    elapsed = time.perf_counter() - started
    async with office.res.sessions() as s:
        pending = await s.scalar(select(func.count()).where(AxisReceived.state == "pending"))
    assert pending == count, f"{pending} of {count} taken in"
    rate, raw_rate = count / elapsed, count / raw
    print(
        f"receive {count} packets: {elapsed:.1f} s, {rate:.1f} packets/s through eOffice "
        f"(store, ack, read, PDF check, 01 queued); bare client {raw_rate:.1f} packets/s "
        f"(baseline) — ratio {raw_rate / rate:.2f}; target >= 20/s: {'met' if rate >= 20 else 'MISSED'}"
    )


async def main(recipients: int, packets: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        codes = recipient_codes(recipients)
        axis = await asyncio.to_thread(start_axis, workdir, codes)
        redis = EmbeddedRedis(workdir / "redis")
        redis_url = await redis.start()
        try:
            common = {
                "axis_url": axis.api_url,
                "jobs_worker": False,
                "push_worker": False,
            }
            province_settings = make_settings(
                workdir / "province",
                await database(workdir, "province"),
                redis_url,
                axis_system_id=SYSTEMS["province"],
                axis_secret=SECRETS[SYSTEMS["province"]],
                **common,
            )
            finance_settings = make_settings(
                workdir / "finance",
                await database(workdir, "finance"),
                redis_url,
                axis_system_id=SYSTEMS["finance"],
                axis_secret=SECRETS[SYSTEMS["finance"]],
                **common,
            )
            province = province_office(province_settings)
            finance = finance_office(finance_settings)
            sender, receiver = await anext(province), await anext(finance)
            try:
                await bench_send(sender, axis, codes)
                await bench_receive(receiver, axis, packets)
            finally:
                await finance.aclose()  # type: ignore[attr-defined]
                await province.aclose()  # type: ignore[attr-defined]
        finally:
            await redis.stop()
            axis.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100)
    parser.add_argument("--packets", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.recipients, args.packets))
