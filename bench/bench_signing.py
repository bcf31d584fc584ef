"""Signing benchmark (run on demand, not a test).

    .venv/bin/python bench/bench_signing.py [--runs 15] [--batch 50]

Per-signature p50/p95 of prepare and finish at B-B, B-T, B-LT on 1-, 10- and 100-page PDFs,
against a naive bare pyHanko baseline (one ``async_sign_pdf`` with default options, same key,
same in-process TSA/OCSP/CRL), and a batch of B-LT signatures spread over both cores.
Goals: ≤ 0.7x naive, ≤ 100 ms p50 for a 10-page B-T, batch of 50 B-LT ≤ 4 s.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing import (
    DevPki,
    InMemoryKey,
    PadesLevel,
    SigningServices,
    finish_signature,
    generate_dev_pki,
    load_dev_pki,
    make_sample_pdf,
    prepare_signature,
    serve_dev_services,
)

USER = "bench"
LEVELS = (PadesLevel.B_B, PadesLevel.B_T, PadesLevel.B_LT)


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


def _batch_worker(directory: str, count: int) -> float:
    async def run() -> float:
        pki = load_dev_pki(directory=Path(directory))
        pdf = make_sample_pdf(pages=2)
        async with serve_dev_services(pki=pki) as svc:
            t0 = time.perf_counter()
            for _ in range(count):
                await ours(pki, svc, pdf, PadesLevel.B_LT)
            return time.perf_counter() - t0

    return asyncio.run(run())


def batch(directory: Path, size: int) -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        pool.submit(_batch_worker, str(directory), 1).result()  # warm both imports once
        t0 = time.perf_counter()
        halves = [size // 2, size - size // 2]
        list(pool.map(_batch_worker, [str(directory)] * 2, halves))
        elapsed = time.perf_counter() - t0
    print(f"batch of {size} B-LT (2 processes, in-process TSA/OCSP/CRL each): {elapsed:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pki = generate_dev_pki(directory=Path(tmp), users=[(USER, "Người Đo Hiệu Năng")])
        asyncio.run(per_signature(pki, args.runs))
        if args.batch:
            batch(Path(tmp), args.batch)
    print(f"({args.runs} runs per row, after one warm-up)")


if __name__ == "__main__":
    main()
