"""Batch signing through the app: 50 drafts, one passkey confirmation, 50 PAdES B-LT signatures
with the leader's key on a SoftHSM token (PKCS#11), timed from the confirmation request to its
answer (run on demand, not a test).

    .venv/bin/python bench/bench_batch_signing.py [--documents 50] [--runs 3] [--profile out.prof]

Each run also times the library alone on the same machine, PKI and SoftHSM token, in its own
process: the key signs the same number of prepared DTBS (2-page drafts with the leader's
appearance, B-LT, certifying, as the app prepares them) and `finish_signatures` finishes them
on a warm 2-process pool, after a warm-up batch of 2. The app's time is reported as a ratio to
that same-run baseline, since the machine is shared and absolute times drift.

With --profile the confirmation is instead sent to an in-process app under cProfile (the batch
is finished on the event loop's thread, so that is where the time shows); read the stats with
`python -m pstats out.prof` (sort cumtime, then tottime).

A real `eoffice serve` process on SQLite and a redis-server; the dev PKI's TSA/OCSP/CRL served
in-process by the app. Target (issue #14): <= 4 s for 50 documents on 2 cores (issue #6: 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core import db, migrate
from backend.core.embedded_redis import EmbeddedRedis
from backend.core.settings import Settings
from backend.signing_flow import keyring
from backend.signing_flow.drafts import LEADER_BOX
from backend.web.app import create_app
from signing import (
    LeaderAppearance,
    PadesLevel,
    finish_signatures,
    make_sample_pdf,
    prepare_signature,
    serve_dev_services,
    signing_process_pool,
)
from tests.backend.identity.conftest import enrol, invite, seed_world, sign_in_as
from tests.backend.signing_flow.conftest import make_draft, resources_of
from tests.conftest import free_port, make_settings
from tests.support.authenticator import SoftAuthenticator
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki, make_signing_home
from tests.support.process_server import ProcessServer


async def one_run(documents: int, workdir: Path, profile: Path | None = None) -> float:
    redis = EmbeddedRedis(workdir / "redis")
    redis_url = await redis.start()
    port = free_port()
    url = f"sqlite+aiosqlite:///{workdir / 'eoffice.db'}"
    engine = db.create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    settings = make_settings(workdir, url, redis_url, base_url=f"http://localhost:{port}")
    install_pki(make_signing_home(workdir / "home"), settings.data_dir)
    authenticator = SoftAuthenticator(origin=settings.origin)
    async with LifespanManager(create_app(settings)) as app:
        world = await seed_world(app, resources_of(app).clock)
        ids = [await make_draft(app, world, subject=f"Văn bản {n}") for n in range(documents)]
        async with app.client(settings.origin) as http:
            http.headers.update({"Origin": settings.origin, "Sec-Fetch-Site": "same-origin"})
            await enrol(http, await invite(app, world.user_ids["leader"]), authenticator)
            http.cookies.clear()
            await sign_in_as(app, http, world.user_ids["leader"])
            cookie = http.cookies.get(settings.session_cookie)
            if profile is not None:
                return await profiled(http, authenticator, ids, profile)
    server = ProcessServer(settings, port).start()
    try:
        async with httpx.AsyncClient(
            base_url=server.url,
            timeout=120,
            cookies={settings.session_cookie: str(cookie)},
            headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"},
        ) as http:
            sheet = await http.post(
                "/sign/transactions", data={"document_id": [str(i) for i in ids]}
            )
            sheet.raise_for_status()
            tx_id = sheet.text.split('data-tx="')[1].split('"')[0]
            options = (await http.post(f"/sign/transactions/{tx_id}/passkey-options")).json()
            credential = authenticator.get(options)
            started = time.perf_counter()
            done = await http.post(
                f"/sign/transactions/{tx_id}/passkey", json={"credential": credential}
            )
            elapsed = time.perf_counter() - started
            body = done.json()
            signed = sum(d["result"] == "signed" for d in body["documents"])
            assert signed == documents, body
    finally:
        server.stop()
        await redis.stop()
    return elapsed


async def profiled(
    http: httpx.AsyncClient, authenticator: SoftAuthenticator, ids: list[int], out: Path
) -> float:
    import cProfile

    sheet = await http.post("/sign/transactions", data={"document_id": [str(i) for i in ids]})
    sheet.raise_for_status()
    tx_id = sheet.text.split('data-tx="')[1].split('"')[0]
    options = (await http.post(f"/sign/transactions/{tx_id}/passkey-options")).json()
    credential = authenticator.get(options)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    done = await http.post(f"/sign/transactions/{tx_id}/passkey", json={"credential": credential})
    profiler.disable()
    elapsed = time.perf_counter() - started
    profiler.dump_stats(out)
    body = done.json()
    assert sum(d["result"] == "signed" for d in body["documents"]) == len(ids), body
    return elapsed


def library_alone(data_dir: str, documents: int) -> float:
    """In a fresh process: the library signs and finishes what the app does after the
    confirmation, with the app's PKI and leader token; returns the seconds it took."""
    settings = Settings(data_dir=Path(data_dir))
    pki = keyring.load(settings)  # points PKCS#11 at the data dir's tokens
    key = keyring.server_key(settings, "leader")
    appearance = LeaderAppearance(
        signature_image=keyring.signature_image(settings, "leader"), page=0, box=LEADER_BOX
    )
    pdf = make_sample_pdf(pages=2)

    async def batch(services: object, pool: ProcessPoolExecutor, count: int) -> float:
        prepared = [
            await prepare_signature(
                pdf=pdf,
                signer_cert=pki.user_cert("leader"),
                chain=pki.chain,
                appearance=appearance,
                level=PadesLevel.B_LT,
                certify=True,
                reason="Phê duyệt và ký ban hành",
            )
            for _ in range(count)
        ]
        started = time.perf_counter()
        values = [await key.sign(dtbs=p.dtbs) for p in prepared]
        results = await finish_signatures(
            items=[(p.state, v) for p, v in zip(prepared, values, strict=True)],
            services=services,  # type: ignore[arg-type]
            executor=pool,
        )
        elapsed = time.perf_counter() - started
        assert all(isinstance(r, bytes) for r in results), results
        return elapsed

    async def run() -> float:
        pool = signing_process_pool(max_workers=2)
        try:
            async with serve_dev_services(pki=pki) as services:
                await batch(services, pool, 2)  # warm-up
                return await batch(services, pool, documents)
        finally:
            pool.shutdown()

    return asyncio.run(run())


def baseline(data_dir: Path, documents: int) -> float:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
        return child.submit(library_alone, str(data_dir), documents).result()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="cProfile an in-process run into this file")
    args = parser.parse_args()
    times, bases = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            elapsed = asyncio.run(one_run(args.documents, Path(tmp), args.profile))
            base = baseline(Path(tmp) / "data", args.documents)
        times.append(elapsed)
        bases.append(base)
        print(
            f"run {run + 1}: {args.documents} documents signed in {elapsed:.2f} s"
            f" | library alone {base:.2f} s | {elapsed / base:.2f}x (load {_load()})",
            flush=True,
        )
    app, lib = statistics.median(times), statistics.median(bases)
    ratios = [t / b for t, b in zip(times, bases, strict=True)]
    print(
        f"{args.documents} documents, {os.cpu_count()} CPUs: median {app:.2f} s,"
        f" best {min(times):.2f} s (target <= 4 s after the confirmation);"
        f" library alone median {lib:.2f} s; app/library {app / lib:.2f}x"
        f" (median of per-run ratios {statistics.median(ratios):.2f}x)"
    )


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
