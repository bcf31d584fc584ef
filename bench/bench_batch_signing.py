"""Batch signing through the app: 50 drafts, one passkey confirmation, 50 PAdES B-LT signatures
with the leader's key on a SoftHSM token (PKCS#11), timed from the confirmation request to its
answer (run on demand, not a test).

    .venv/bin/python bench/bench_batch_signing.py [--documents 50] [--runs 3] [--profile out.prof]

With --profile the confirmation is instead sent to an in-process app under cProfile (the batch
is finished on the event loop's thread, so that is where the time shows); read the stats with
`python -m pstats out.prof` (sort cumtime, then tottime).

A real `eoffice serve` process on SQLite and a redis-server; the dev PKI's TSA/OCSP/CRL served
in-process by the app. Target (issue #6): <= 5 s for 50 documents on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core import db, migrate
from backend.core.embedded_redis import EmbeddedRedis
from backend.web.app import create_app
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="cProfile an in-process run into this file")
    args = parser.parse_args()
    times = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            elapsed = asyncio.run(one_run(args.documents, Path(tmp), args.profile))
        times.append(elapsed)
        print(f"run {run + 1}: {args.documents} documents signed in {elapsed:.2f} s", flush=True)
    print(
        f"{args.documents} documents, {os.cpu_count()} CPUs: median {statistics.median(times):.2f} s,"
        f" best {min(times):.2f} s (target <= 5 s after the confirmation)"
    )


if __name__ == "__main__":
    main()
