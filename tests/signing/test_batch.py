"""Batch finishing: every document gets its own complete, valid B-LT signature; failures stay
per item; revocation stays hard-fail; shared revocation data never crosses chains."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from asn1crypto import ocsp, x509
from certomancer.integrations.aiohttp_illusionist import AsyncIllusionist
from conftest import CLERK, LEADER, REVOKED
from pyhanko.pdf_utils.reader import PdfFileReader
from signing_helpers import pyhanko_status, tsa_only_app

from signing import (
    CertificateRevokedError,
    DevPki,
    InMemoryKey,
    PadesLevel,
    RevocationUnavailableError,
    SignatureMismatchError,
    SigningError,
    SigningServices,
    SigningSession,
    finish_signatures,
    make_sample_pdf,
    prepare_signature,
    signing_process_pool,
    verify_pdf,
)

PDF = make_sample_pdf(pages=10)


async def _prepared(
    pki: DevPki, user: str, count: int, level: PadesLevel = PadesLevel.B_LT
) -> list[tuple[bytes, bytes]]:
    """``count`` prepared documents of ``user`` with their (correct) signature values."""
    key = InMemoryKey(pki.user_key(user))
    items = []
    for _ in range(count):
        prepared = await prepare_signature(
            pdf=PDF, signer_cert=pki.user_cert(user), chain=pki.chain, level=level
        )
        items.append((prepared.state, await key.sign(dtbs=prepared.dtbs)))
    return items


def _signed(results: list[bytes | SigningError]) -> list[bytes]:
    assert all(isinstance(r, bytes) for r in results), results
    return [r for r in results if isinstance(r, bytes)]


def _dss(pdf: bytes) -> tuple[set[int], set[bytes]]:
    """Serial numbers the DSS's OCSP responses speak about, and the DER of its certificates."""
    dss = PdfFileReader(io.BytesIO(pdf)).root["/DSS"]
    serials = set()
    for ref in dss.get("/OCSPs", []):
        response = ocsp.OCSPResponse.load(ref.get_object().data)
        for single in response.basic_ocsp_response["tbs_response_data"]["responses"]:
            serials.add(single["cert_id"]["serial_number"].native)
    certs = {x509.Certificate.load(ref.get_object().data).dump() for ref in dss["/Certs"]}
    return serials, certs


def _pdfsig(pdf: bytes, path: Path) -> str:
    path.write_bytes(pdf)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.mark.anyio
async def test_batch_of_five_all_valid(
    pki: DevPki, services: SigningServices, tmp_path: Path
) -> None:
    results = await finish_signatures(items=await _prepared(pki, LEADER, 5), services=services)

    signed = _signed(results)
    assert len(signed) == 5 and len(set(signed)) == 5  # five distinct signatures, not one copy
    for i, pdf in enumerate(signed):
        status = await pyhanko_status(pdf, services, 0)
        assert status.bottom_line and status.intact and status.valid and status.trusted
        assert status.timestamp_validity is not None and status.timestamp_validity.valid
        report = await verify_pdf(pdf=pdf, trust=pki.trust, http_session=services.http_session)
        (sig,) = report.signatures
        assert report.ok and sig.ok, sig.summary_en
        assert sig.pades_level == "B-LT" and sig.revocation == "good"
        assert sig.modification_level == "LTA_UPDATES"
        out = _pdfsig(pdf, tmp_path / f"doc{i}.pdf")
        assert "Signature is Valid." in out and "Invalid" not in out


@pytest.mark.anyio
async def test_batch_matches_pyhanko_dss_and_vri(pki: DevPki, services: SigningServices) -> None:
    # The VRI key is computed by hand (no re-parse); it must be the one pyHanko would write.
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    (pdf,) = _signed(
        await finish_signatures(items=await _prepared(pki, LEADER, 1), services=services)
    )
    reader = PdfFileReader(io.BytesIO(pdf))
    sig = reader.embedded_signatures[0]
    expected = DocumentSecurityStore.sig_content_identifier(sig.pkcs7_content.hex().encode())
    assert expected in reader.root["/DSS"]["/VRI"]
    serials, certs = _dss(pdf)
    assert pki.user_cert(LEADER).serial_number in serials
    assert {pki.user_cert(LEADER).dump(), pki.root_cert.dump()} <= certs


@pytest.mark.anyio
async def test_wrong_signature_value_fails_alone(pki: DevPki, services: SigningServices) -> None:
    items = await _prepared(pki, LEADER, 4)
    items[1] = (items[1][0], items[2][1])  # the value of another document's DTBS

    results = await finish_signatures(items=items, services=services)

    assert isinstance(results[1], SignatureMismatchError)
    for i in (0, 2, 3):
        pdf = results[i]
        assert isinstance(pdf, bytes)
        assert (await pyhanko_status(pdf, services, 0)).bottom_line


@pytest.mark.anyio
async def test_revoked_signer_in_a_batch_is_refused_and_others_are_not(
    pki: DevPki, services: SigningServices
) -> None:
    good = await _prepared(pki, LEADER, 2)
    revoked = await _prepared(pki, REVOKED, 2)

    results = await finish_signatures(
        items=[good[0], revoked[0], good[1], revoked[1]], services=services
    )

    assert isinstance(results[1], CertificateRevokedError)
    assert isinstance(results[3], CertificateRevokedError)
    for pdf in (results[0], results[2]):
        assert isinstance(pdf, bytes)
        assert (await pyhanko_status(pdf, services, 0)).bottom_line


@pytest.mark.anyio
async def test_shared_revocation_data_stays_with_its_chain(
    pki: DevPki, services: SigningServices
) -> None:
    leader, clerk = await _prepared(pki, LEADER, 2), await _prepared(pki, CLERK, 2)

    results = _signed(
        await finish_signatures(items=[leader[0], clerk[0], leader[1], clerk[1]], services=services)
    )

    own = {0: LEADER, 1: CLERK, 2: LEADER, 3: CLERK}
    for i, pdf in enumerate(results):
        other = CLERK if own[i] == LEADER else LEADER
        serials, certs = _dss(pdf)
        assert pki.user_cert(own[i]).serial_number in serials
        assert pki.user_cert(other).serial_number not in serials
        assert pki.user_cert(other).dump() not in certs
        report = await verify_pdf(pdf=pdf, trust=pki.trust, http_session=services.http_session)
        assert report.ok and report.signatures[0].signer_name == (
            "Nguyễn Văn An" if own[i] == LEADER else "Trần Thị Bình"
        )


@pytest.mark.anyio
async def test_revocation_is_collected_once_per_chain(
    pki: DevPki, services: SigningServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = SigningServices.validation_context

    def counting(self: SigningServices) -> object:
        context = original(self)
        # Hard-fail: revocation information is essential for every certificate.
        calls.append(context.revinfo_policy.revocation_checking_policy.essential)
        return context

    monkeypatch.setattr(SigningServices, "validation_context", counting)
    session = SigningSession(services=services)
    _signed(await session.finish_many(items=await _prepared(pki, LEADER, 5)))
    assert calls == [True, True]  # the signer's chain and the TSA's chain, hard-fail, once each
    _signed(await session.finish_many(items=await _prepared(pki, LEADER, 2)))
    assert len(calls) == 2  # still warm for the rest of the batch
    expired = SigningSession(services=services, revocation_max_age=0.0)
    _signed(await expired.finish_many(items=await _prepared(pki, LEADER, 1)))
    assert len(calls) == 4  # a new session (or stale data) collects again


@pytest.mark.anyio
async def test_missing_revocation_data_fails_every_item(pki: DevPki) -> None:
    items = await _prepared(pki, LEADER, 3)
    async with AsyncIllusionist(pki.arch).serving_session(app=tsa_only_app(pki)) as session:
        svc = SigningServices(
            trust=pki.trust, http_session=session, tsa_url=pki.tsa_url, fetch_timeout=2
        )
        results = await finish_signatures(items=items, services=svc)
    assert all(isinstance(r, RevocationUnavailableError) for r in results), results


@pytest.mark.anyio
async def test_mixed_levels_and_process_pool(pki: DevPki, services: SigningServices) -> None:
    items = [
        *(await _prepared(pki, LEADER, 1, PadesLevel.B_T)),
        *(await _prepared(pki, LEADER, 2, PadesLevel.B_LT)),
        *(await _prepared(pki, LEADER, 1, PadesLevel.B_LTA)),
    ]
    pool = signing_process_pool(max_workers=1)
    try:
        results = _signed(await finish_signatures(items=items, services=services, executor=pool))
    finally:
        pool.shutdown()
    levels = []
    for pdf in results:
        report = await verify_pdf(pdf=pdf, trust=pki.trust, http_session=services.http_session)
        assert report.ok, report.signatures[0].summary_en
        levels.append(report.signatures[0].pades_level)
    assert levels == ["B-T", "B-LT", "B-LT", "B-LTA"]
