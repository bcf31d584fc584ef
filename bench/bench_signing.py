"""Signing benchmark (run on demand, not a test).

    .venv/bin/python bench/bench_signing.py [--runs 15] [--batch 50]

    .venv/bin/python bench/bench_signing.py --runs 0 --keys memory   # batch only, in-memory key

Per-signature p50/p95 of prepare and finish at B-B, B-T, B-LT on 1-, 10- and 100-page PDFs,
against a naive bare pyHanko baseline (one ``async_sign_pdf`` with default options, same key,
same in-process TSA/OCSP/CRL), and a batch of 10-page B-LT signatures (in-memory and SoftHSM key):
in one process one by one (``finish_signature``, "naive") vs ``finish_signatures`` (without and
with a process pool), and in two processes (one per core, 25 documents each) one by one vs batch.
Goals: ≤ 0.7x naive, ≤ 100 ms p50 for a 10-page B-T, batch of 50 B-LT ≤ 4 s.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing as mp
import os
import sys
import tempfile
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing import (
    SOFTHSM_MODULE,
    DevPki,
    InMemoryKey,
    KeyProvider,
    PadesLevel,
    Pkcs11Key,
    SigningError,
    SigningServices,
    create_softhsm_token,
    finish_signature,
    finish_signatures,
    generate_dev_pki,
    load_dev_pki,
    make_sample_pdf,
    prepare_signature,
    serve_dev_services,
    signing_process_pool,
    write_softhsm_config,
)

USER = "bench"
LEVELS = (PadesLevel.B_B, PadesLevel.B_T, PadesLevel.B_LT)
BATCH_PAGES = 10


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def ours(
    pki: DevPki, svc: SigningServices, pdf: bytes, level: PadesLevel
) -> tuple[float, float]:
    key = InMemoryKey(pki.user_key(USER))
    t0 = time.perf_counter()
    prepared = await prepare_signature(
        pdf=pdf, signer_cert=pki.user_cert(USER), chain=pki.chain, level=level
    )
    t1 = time.perf_counter()
    value = await key.sign(dtbs=prepared.dtbs)
    t2 = time.perf_counter()
    await finish_signature(state=prepared.state, signature_value=value, services=svc)
    t3 = time.perf_counter()
    return t1 - t0, t3 - t2


async def naive(pki: DevPki, svc: SigningServices, pdf: bytes, level: PadesLevel) -> float:
    signer = signers.SimpleSigner(
        signing_cert=pki.user_cert(USER),
        signing_key=pki.user_key(USER),
        cert_registry=SimpleCertificateStore.from_certs(list(pki.chain)),
    )
    kwargs: dict[str, object] = {}
    if level.rank >= PadesLevel.B_LT.rank:
        kwargs = {"validation_context": svc.validation_context(), "embed_validation_info": True}
    meta = signers.PdfSignatureMetadata(
        field_name="Sig1",
        subfilter=SigSeedSubFilter.PADES,
        **kwargs,  # type: ignore[arg-type]
    )
    t0 = time.perf_counter()
    await signers.async_sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        meta,
        signer=signer,
        timestamper=svc.timestamper() if level.rank >= PadesLevel.B_T.rank else None,
    )
    return time.perf_counter() - t0


async def per_signature(pki: DevPki, runs: int) -> None:
    print(
        f"{'pages':>5} {'level':>5} | {'prepare p50/p95':>16} | {'finish p50/p95':>15} | "
        f"{'total p50':>9} | {'naive p50':>9} | ratio"
    )
    async with serve_dev_services(pki=pki) as svc:
        for pages in (1, 10, 100):
            pdf = make_sample_pdf(pages=pages)
            for level in LEVELS:
                await ours(pki, svc, pdf, level)  # warm-up
                await naive(pki, svc, pdf, level)
                prep, fin, tot, nai = [], [], [], []
                for _ in range(runs):
                    p, f = await ours(pki, svc, pdf, level)
                    prep.append(p)
                    fin.append(f)
                    tot.append(p + f)
                    nai.append(await naive(pki, svc, pdf, level))
                total, base = pct(tot, 0.5), pct(nai, 0.5)
                print(
                    f"{pages:>5} {level.value:>5} "
                    f"| {pct(prep, 0.5):6.1f} / {pct(prep, 0.95):6.1f} ms "
                    f"| {pct(fin, 0.5):6.1f} / {pct(fin, 0.95):6.1f} ms | {total:6.1f} ms "
                    f"| {base:6.1f} ms | {total / base:.2f}x"
                )


KEY_KINDS = ("memory", "softhsm")
TOKEN, PIN = "bench", "1234"


def _key(pki: DevPki, kind: str) -> KeyProvider:
    if kind == "memory":
        return InMemoryKey(pki.user_key(USER))
    return Pkcs11Key(module_path=SOFTHSM_MODULE, token_label=TOKEN, pin=PIN, key_label=USER)


async def _batch_run(
    pki: DevPki,
    svc: SigningServices,
    key: KeyProvider,
    pdf: bytes,
    count: int,
    mode: str,
    executor: Executor | None = None,
) -> tuple[float, float]:
    """Sign ``count`` copies of ``pdf`` at B-LT; return (prepare seconds, sign+finish seconds)."""
    t0 = time.perf_counter()
    preps = [
        await prepare_signature(pdf=pdf, signer_cert=pki.user_cert(USER), chain=pki.chain)
        for _ in range(count)
    ]
    t1 = time.perf_counter()
    values = [await key.sign(dtbs=p.dtbs) for p in preps]  # the one confirmation, then the key
    if mode == "naive":  # one by one, each with a fresh context (the pre-batch behaviour)
        results: list[bytes | SigningError] = [
            await finish_signature(state=p.state, signature_value=v, services=svc)
            for p, v in zip(preps, values, strict=True)
        ]
    else:
        results = await finish_signatures(
            items=[(p.state, v) for p, v in zip(preps, values, strict=True)],
            services=svc,
            executor=executor,
        )
    t2 = time.perf_counter()
    failed = [r for r in results if not isinstance(r, bytes)]
    if failed:
        raise RuntimeError(f"{len(failed)} signatures failed: {failed[0]!r}")
    return t1 - t0, t2 - t1


def _batch_worker(directory: str, count: int, mode: str, kind: str, start_at: float) -> float:
    """One process of a 2-process batch: set up, wait for the common start, run; return end."""

    async def run() -> float:
        pki = load_dev_pki(directory=Path(directory))
        pdf = make_sample_pdf(pages=BATCH_PAGES)
        key = _key(pki, kind)
        async with serve_dev_services(pki=pki) as svc:
            await _batch_run(pki, svc, key, pdf, 1, mode)  # warm-up
            await asyncio.sleep(max(0.0, start_at - time.time()))
            await _batch_run(pki, svc, key, pdf, count, mode)
            return time.time()

    return asyncio.run(run())


def _two_processes(directory: Path, size: int, mode: str, kind: str) -> float:
    with ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("forkserver")) as pool:
        start_at = time.time() + 8.0  # after both workers are set up and warm
        halves = [size // 2, size - size // 2]
        ends = list(
            pool.map(
                _batch_worker,
                *zip(*[(str(directory), n, mode, kind, start_at) for n in halves], strict=True),
            )
        )
    return max(ends) - start_at


async def _one_process(pki: DevPki, size: int, kind: str) -> dict[str, tuple[float, float]]:
    pdf = make_sample_pdf(pages=BATCH_PAGES)
    key = _key(pki, kind)
    out: dict[str, tuple[float, float]] = {}
    pool = signing_process_pool(max_workers=2)
    try:
        async with serve_dev_services(pki=pki) as svc:
            for mode, executor in (("naive", None), ("session", None), ("session+pool", pool)):
                await _batch_run(pki, svc, key, pdf, 2, mode, executor)  # warm-up
                out[mode] = await _batch_run(pki, svc, key, pdf, size, mode, executor)
    finally:
        pool.shutdown()
    return out


def batch(pki: DevPki, size: int, kinds: tuple[str, ...]) -> None:
    print(
        f"\nbatch of {size} x {BATCH_PAGES}-page B-LT, in-process dev TSA/OCSP/CRL; load {_load()}"
    )
    for kind in kinds:
        one = asyncio.run(_one_process(pki, size, kind))
        base = sum(one["naive"])
        for mode, (prep, fin) in one.items():
            print(
                f"  {kind:>7} 1 process  {mode:<13} total {prep + fin:5.2f} s "
                f"(prepare {prep:4.2f} + sign&finish {fin:4.2f}) | {(prep + fin) / base:.2f}x naive"
            )
        two = {mode: _two_processes(pki.directory, size, mode, kind) for mode in ("naive", "batch")}
        print(
            f"  {kind:>7} 2 processes naive {two['naive']:5.2f} s | batch {two['batch']:5.2f} s "
            f"| {two['batch'] / two['naive']:.2f}x naive (goal ≤ 4 s)"
        )


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--keys", default=",".join(KEY_KINDS), help="memory,softhsm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pki = generate_dev_pki(directory=Path(tmp), users=[(USER, "Người Đo Hiệu Năng")])
        kinds = tuple(k for k in args.keys.split(",") if k)
        if "softhsm" in kinds:  # before any PKCS#11 module is loaded; workers inherit the env
            os.environ["SOFTHSM2_CONF"] = str(write_softhsm_config(directory=Path(tmp) / "hsm"))
            create_softhsm_token(
                token_label=TOKEN,
                pin=PIN,
                so_pin="5678",
                key_pem=pki.user_key_path(USER).read_bytes(),
                certificate=pki.user_cert(USER),
                key_label=USER,
                key_id=b"\x01",
            )
        if args.runs:
            asyncio.run(per_signature(pki, args.runs))
        if args.batch:
            batch(pki, args.batch, kinds)
    print(f"({args.runs} runs per row, after one warm-up)")


if __name__ == "__main__":
    main()
