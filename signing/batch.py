"""Batch finishing: phase 2 of many two-phase signatures with one warm context.

A leader confirms up to ~50 documents at once; each still gets its own complete PAdES signature.
What is shared across the batch is only what is identical for every document: the TSA client,
and the *validated* revocation data of each distinct certificate chain (signer, TSA). That data
is collected once per chain with a fresh hard-fail :class:`ValidationContext` (so one chain's
OCSP responses and CRLs never end up in another chain's documents), then written into every
document's DSS. The CPU-bound PDF work (embedding the CMS, writing the DSS revision) can run on
a process pool (:func:`signing_process_pool`), the network-bound work (TSA) overlaps on the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

import aiohttp
from asn1crypto import cms, crl, ocsp, x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.errors import PathError, ValidationError

from signing.errors import SigningError, TimestampUnavailableError
from signing.ltv import add_archival_timestamp, translate_validation_error
from signing.services import SigningServices
from signing.signature_values import normalise_and_verify
from signing.state import PadesLevel, SignatureState
from signing.twophase import signature_container

__all__ = ["SigningSession", "finish_signatures", "signing_process_pool", "warm_signing_worker"]


@dataclass(frozen=True)
class _Revinfo:
    """Validated path certificates plus the OCSP responses and CRLs that validated them."""

    certs: tuple[bytes, ...]
    ocsps: tuple[bytes, ...]
    crls: tuple[bytes, ...]


@dataclass(frozen=True)
class _EmbedJob:
    """Plain-bytes input of :func:`_embed` (picklable, for worker processes)."""

    pdf: bytes
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    cms_der: bytes
    dss: _Revinfo | None


def _embed(job: _EmbedJob) -> bytes | str:
    """Embed the CMS and, if asked, append a DSS revision. Returns the PDF or an error text."""
    output = io.BytesIO(job.pdf)
    try:
        PreparedByteRangeDigest(
            job.document_digest, job.reserved_start, job.reserved_end
        ).fill_with_cms(output, cms.ContentInfo.load(job.cms_der))
        if job.dss is not None:
            # VRI key exactly as pyHanko computes it (hex of the padded /Contents string)
            with output.getbuffer() as view:
                region = bytes(view[job.reserved_start + 1 : job.reserved_end - 1])
            sig_contents = bytes.fromhex(region.decode("ascii")).hex().encode("ascii")
            writer = IncrementalPdfFileWriter(output, strict=True)
            DocumentSecurityStore.supply_dss_in_writer(
                writer,
                sig_contents,
                certs=[x509.Certificate.load(c) for c in job.dss.certs],
                ocsps=[ocsp.OCSPResponse.load(o) for o in job.dss.ocsps],
                crls=[crl.CertificateList.load(c) for c in job.dss.crls],
            )
            writer.write_in_place()
    except (PyHankoSigningError, PdfError, ValueError) as exc:
        return f"could not embed the signature or validation data: {exc!r}"
    return output.getvalue()


def warm_signing_worker() -> None:
    """Make a worker process ready for :class:`SigningSession`'s PDF work.

    Run in the worker, as a pool's initialiser or as a task submitted ahead of a batch to a
    pool the caller owns: unpickling this function imports pyHanko there, and it touches the
    DSS code path once, so the first batch does not pay for either.

    Args:
        (none): it is called with no arguments, in the worker.
    """
    DocumentSecurityStore.sig_content_identifier(b"00")


def signing_process_pool(*, max_workers: int = 2) -> ProcessPoolExecutor:
    """Start a warm process pool for the CPU-bound part of :class:`SigningSession`.

    Workers are started with ``forkserver`` (never ``fork`` of a process running an event loop
    and threads) and have pyHanko imported before this returns. The app keeps the pool for its
    lifetime and shuts it down on exit (``pool.shutdown()``).

    Args:
        max_workers: number of worker processes (usually the number of cores).

    Returns:
        A started :class:`ProcessPoolExecutor`.
    """
    pool = ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=warm_signing_worker,
    )
    for future in [pool.submit(warm_signing_worker) for _ in range(max_workers)]:
        future.result()
    return pool


def _chain_key(cert: x509.Certificate, others: Sequence[x509.Certificate]) -> tuple[bytes, ...]:
    rest = sorted(hashlib.sha256(c.dump()).digest() for c in others)
    return (hashlib.sha256(cert.dump()).digest(), *rest)


class SigningSession:
    """Warm context for finishing a batch of signatures (keep it for the length of one batch).

    Shares one timestamp client and, per distinct certificate chain, the revocation data that
    a hard-fail validation of that chain produced; every signature still gets its own TSA token,
    its value checked, its own CMS and its own DSS. Revocation data older than
    ``revocation_max_age`` seconds is collected again. Failures (revoked, unavailable) are
    remembered for that age too, so a batch does not hammer a failing responder. Use a session
    from one event loop only (it holds asyncio tasks).

    Args:
        services: TSA, trust and HTTP session.
        executor: optional process pool (see :func:`signing_process_pool`) for the PDF work;
            ``None`` runs it on the event loop.
        revocation_max_age: seconds a chain's collected revocation data is reused.
        max_concurrency: signatures in flight at once (bounds load on the TSA).
    """

    def __init__(
        self,
        *,
        services: SigningServices,
        executor: Executor | None = None,
        revocation_max_age: float = 120.0,
        max_concurrency: int = 16,
    ) -> None:
        self.services = services
        self._executor = executor
        self._max_age = revocation_max_age
        self._limit = asyncio.Semaphore(max_concurrency)
        self._timestamper = services.timestamper()
        self._revinfo: dict[tuple[bytes, ...], tuple[float, asyncio.Task[_Revinfo]]] = {}

    async def _collect(
        self, cert: x509.Certificate, others: Sequence[x509.Certificate]
    ) -> _Revinfo:
        context = self.services.validation_context()  # one per chain: no mixing
        validator = CertificateValidator(
            cert, intermediate_certs=list(others), validation_context=context
        )
        try:
            path = await validator.async_validate_usage(key_usage=set())
        except (TimeoutError, ValidationError, PathError, aiohttp.ClientError, OSError) as exc:
            raise translate_validation_error(exc) from exc
        return _Revinfo(
            certs=tuple(c.dump() for c in path),
            ocsps=tuple(o.dump() for o in context.ocsps),
            crls=tuple(c.dump() for c in context.crls),
        )

    async def _revinfo_for(self, signed_data: cms.SignedData) -> _Revinfo:
        info = extract_certificate_info(signed_data)
        key = _chain_key(info.signer_cert, info.other_certs)
        now = time.monotonic()
        cached = self._revinfo.get(key)
        if cached is None or now - cached[0] > self._max_age:
            task = asyncio.ensure_future(self._collect(info.signer_cert, info.other_certs))
            cached = (now, task)
            self._revinfo[key] = cached
        return await asyncio.shield(cached[1])

    async def _dss_for(self, signature_cms: cms.ContentInfo) -> _Revinfo:
        signed_data = signature_cms["content"]
        parts = [await self._revinfo_for(signed_data)]
        signer_info = signed_data["signer_infos"][0]
        for tst in extract_tst_data_iter(signer_info, signed=False):
            parts.append(await self._revinfo_for(tst))

        def merged(items: list[tuple[bytes, ...]]) -> tuple[bytes, ...]:
            return tuple(dict.fromkeys(x for group in items for x in group))

        return _Revinfo(
            certs=merged([p.certs for p in parts]),
            ocsps=merged([p.ocsps for p in parts]),
            crls=merged([p.crls for p in parts]),
        )

    async def _run(self, job: _EmbedJob) -> bytes:
        if self._executor is None:
            result = _embed(job)
        else:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, _embed, job)
        if isinstance(result, str):
            raise SigningError(result)
        return result

    async def finish(self, *, state: bytes, signature_value: bytes) -> bytes:
        """Finish one signature using the session's warm context.

        Same checks and result as :func:`signing.finish_signature`.

        Args:
            state: :attr:`PreparedSignature.state`.
            signature_value: the key's signature over the DTBS.

        Returns:
            The signed PDF.

        Raises:
            InvalidStateError, SignatureMismatchError, TimestampUnavailableError,
            RevocationUnavailableError, CertificateRevokedError, UntrustedCertificateError,
            SigningError: as for :func:`signing.finish_signature`.
        """
        async with self._limit:
            st = SignatureState.decode(state)
            value = normalise_and_verify(
                certificate=st.signer_cert,
                dtbs=st.signed_attrs,
                signature_value=signature_value,
                md_algorithm=st.md_algorithm,
            )
            timestamper = None
            if st.level.rank >= PadesLevel.B_T.rank:
                if self._timestamper is None:
                    raise TimestampUnavailableError(f"level {st.level} needs a timestamp authority")
                timestamper = self._timestamper
            signature_cms = await signature_container(st, value, timestamper)
            dss = None
            if st.level.rank >= PadesLevel.B_LT.rank:
                dss = await self._dss_for(signature_cms)
            job = _EmbedJob(
                st.pdf,
                st.document_digest,
                st.reserved_start,
                st.reserved_end,
                signature_cms.dump(),
                dss,
            )
        pdf = await self._run(job)
        if st.level is PadesLevel.B_LTA:
            output = io.BytesIO(pdf)
            await add_archival_timestamp(
                output, md_algorithm=st.md_algorithm, services=self.services
            )
            pdf = output.getvalue()
        return pdf

    async def finish_many(
        self, *, items: Sequence[tuple[bytes, bytes]]
    ) -> list[bytes | SigningError]:
        """Finish many signatures concurrently; one failure does not affect the others.

        Args:
            items: ``(state, signature_value)`` pairs.

        Returns:
            One entry per item, in order: the signed PDF, or the :class:`SigningError` that
            item failed with (unexpected exceptions are wrapped in a :class:`SigningError`
            whose ``__cause__`` is the original).
        """
        return list(
            await asyncio.gather(*(_guard(self.finish, state, value) for state, value in items))
        )


async def _guard(
    fn: Callable[..., Awaitable[bytes]], state: bytes, value: bytes
) -> bytes | SigningError:
    try:
        return await fn(state=state, signature_value=value)
    except SigningError as exc:
        return exc
    except Exception as exc:  # per-item isolation; the cause is kept
        wrapped = SigningError(f"unexpected error while finishing: {exc!r}")
        wrapped.__cause__ = exc
        return wrapped


async def finish_signatures(
    *,
    items: Sequence[tuple[bytes, bytes]],
    services: SigningServices,
    executor: Executor | None = None,
    session: SigningSession | None = None,
    revocation_max_age: float = 120.0,
    max_concurrency: int = 16,
) -> list[bytes | SigningError]:
    """Phase 2 for a batch: finish every ``(state, signature_value)`` pair.

    Each document gets its own complete signature with the same guarantees as
    :func:`signing.finish_signature` (value checked before embedding, TSA token never replaced by
    the local clock, hard-fail revocation for B-LT/B-LTA); revocation data is fetched once per
    distinct certificate chain in the batch.

    Args:
        items: ``(state, signature_value)`` pairs (:attr:`PreparedSignature.state`, key output).
        services: TSA, trust and HTTP session.
        executor: optional process pool for the PDF work (see :func:`signing_process_pool`).
        session: an existing :class:`SigningSession` to reuse (``services``/``executor`` then
            come from it).
        revocation_max_age: for a new session, see :class:`SigningSession`.
        max_concurrency: for a new session, see :class:`SigningSession`.

    Returns:
        One entry per item, in order: the signed PDF bytes or the item's :class:`SigningError`.
    """
    if session is None:
        session = SigningSession(
            services=services,
            executor=executor,
            revocation_max_age=revocation_max_age,
            max_concurrency=max_concurrency,
        )
    return await session.finish_many(items=items)
