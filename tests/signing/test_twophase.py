"""Two-phase signing at every PAdES level, the DTBS binding, and the refusals."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace

import pytest
from asn1crypto import cms
from certomancer.integrations.aiohttp_illusionist import AsyncIllusionist
from conftest import CLERK, LEADER, REVOKED
from pyhanko.pdf_utils.reader import PdfFileReader
from signing_helpers import pyhanko_status, tsa_only_app

from signing import (
    CertificateRevokedError,
    DevPki,
    InMemoryKey,
    InvalidStateError,
    PadesLevel,
    RevocationUnavailableError,
    SignatureMismatchError,
    SigningServices,
    TimestampUnavailableError,
    finish_signature,
    prepare_signature,
    sign_pdf,
    verify_pdf,
)

EXPECTED_MODIFICATION = {
    PadesLevel.B_B: "NONE",
    PadesLevel.B_T: "NONE",
    PadesLevel.B_LT: "LTA_UPDATES",
    PadesLevel.B_LTA: "LTA_UPDATES",
}


@pytest.mark.anyio
@pytest.mark.parametrize("level", list(PadesLevel))
async def test_each_level_produces_a_valid_signature(
    level: PadesLevel, pki: DevPki, services: SigningServices, sample_pdf: bytes
) -> None:
    prepared = await prepare_signature(
        pdf=sample_pdf, signer_cert=pki.user_cert(LEADER), chain=pki.chain, level=level
    )
    value = await InMemoryKey(pki.user_key(LEADER)).sign(dtbs=prepared.dtbs)
    signed = await finish_signature(state=prepared.state, signature_value=value, services=services)

    status = await pyhanko_status(signed, services, 0)
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert (status.timestamp_validity is not None) == (level is not PadesLevel.B_B)
    report = await verify_pdf(pdf=signed, trust=pki.trust, http_session=services.http_session)
    (sig,) = report.signatures
    assert report.ok and sig.ok, sig.summary_en
    assert sig.pades_level == level.value
    assert sig.modification_level == EXPECTED_MODIFICATION[level]
    assert sig.signer_name == "Nguyễn Văn An" and sig.revocation == "good"
    assert sig.coverage == ("ENTIRE_FILE" if level.rank < 2 else "ENTIRE_REVISION")
    reader = PdfFileReader(io.BytesIO(signed))
    assert ("/DSS" in reader.root) == (level.rank >= PadesLevel.B_LT.rank)
    assert report.document_timestamps == (1 if level is PadesLevel.B_LTA else 0)


@pytest.mark.anyio
async def test_dtbs_is_the_signed_attributes_not_the_pdf_digest(
    pki: DevPki, sample_pdf: bytes
) -> None:
    prepared = await prepare_signature(
        pdf=sample_pdf, signer_cert=pki.user_cert(LEADER), chain=pki.chain, level=PadesLevel.B_B
    )
    attrs = cms.CMSAttributes.load(prepared.dtbs)
    kinds = {a["type"].native for a in attrs}
    assert {"content_type", "message_digest", "signing_certificate_v2"} <= kinds
    assert "signing_time" not in kinds  # PAdES forbids it
    assert prepared.dtbs_hash == hashlib.sha256(prepared.dtbs).digest()
    message_digest = next(a for a in attrs if a["type"].native == "message_digest")
    assert message_digest["values"][0].native != prepared.dtbs_hash
    h = prepared.dtbs_hash
    assert prepared.control_code == f"{((0xFC & h[0]) << 5) | (h[-1] & 0x7F):04d}"
    assert isinstance(prepared.state, bytes)


@pytest.mark.anyio
async def test_state_survives_storage_as_bytes(
    pki: DevPki, services: SigningServices, sample_pdf: bytes
) -> None:
    prepared = await prepare_signature(
        pdf=sample_pdf, signer_cert=pki.user_cert(LEADER), chain=pki.chain, level=PadesLevel.B_T
    )
    stored = bytes(bytearray(prepared.state))  # what comes back from a BLOB column
    value = await InMemoryKey(pki.user_key(LEADER)).sign(dtbs=prepared.dtbs)
    signed = await finish_signature(state=stored, signature_value=value, services=services)
    assert (await pyhanko_status(signed, services, 0)).bottom_line


@pytest.mark.anyio
async def test_wrong_signature_value_is_refused(
    pki: DevPki, services: SigningServices, sample_pdf: bytes
) -> None:
    prepared = await prepare_signature(
        pdf=sample_pdf, signer_cert=pki.user_cert(LEADER), chain=pki.chain, level=PadesLevel.B_B
    )
    other_key = await InMemoryKey(pki.user_key(CLERK)).sign(dtbs=prepared.dtbs)
    with pytest.raises(SignatureMismatchError) as caught:
        await finish_signature(state=prepared.state, signature_value=other_key, services=services)
    assert "không khớp" in caught.value.message_vi
    other_data = await InMemoryKey(pki.user_key(LEADER)).sign(dtbs=prepared.dtbs + b"x")
    with pytest.raises(SignatureMismatchError):
        await finish_signature(state=prepared.state, signature_value=other_data)
    with pytest.raises(SignatureMismatchError):
        await finish_signature(state=prepared.state, signature_value=b"\x00" * 256)


@pytest.mark.anyio
async def test_damaged_state_is_refused(pki: DevPki, sample_pdf: bytes) -> None:
    prepared = await prepare_signature(
        pdf=sample_pdf, signer_cert=pki.user_cert(LEADER), chain=pki.chain, level=PadesLevel.B_B
    )
    value = await InMemoryKey(pki.user_key(LEADER)).sign(dtbs=prepared.dtbs)
    damaged = prepared.state[:-10] + b"0123456789"
    for bad in (b"", b"garbage", damaged, prepared.state[:40]):
        with pytest.raises(InvalidStateError):
            await finish_signature(state=bad, signature_value=value)


@pytest.mark.anyio
async def test_unreachable_tsa_raises_and_never_uses_the_local_clock(
    pki: DevPki, services: SigningServices, sample_pdf: bytes
) -> None:
    key = InMemoryKey(pki.user_key(LEADER))
    broken = replace(services, tsa_url="http://pki.eoffice.test/no-such-tsa")
    for svc in (broken, replace(services, tsa_url=None), None):
        with pytest.raises(TimestampUnavailableError):
            await sign_pdf(
                pdf=sample_pdf,
                key=key,
                signer_cert=pki.user_cert(LEADER),
                chain=pki.chain,
                services=svc,
                level=PadesLevel.B_T,
            )


@pytest.mark.anyio
async def test_revoked_signer_cannot_produce_b_lt(
    pki: DevPki, services: SigningServices, sample_pdf: bytes
) -> None:
    with pytest.raises(CertificateRevokedError):
        await sign_pdf(
            pdf=sample_pdf,
            key=InMemoryKey(pki.user_key(REVOKED)),
            signer_cert=pki.user_cert(REVOKED),
            chain=pki.chain,
            services=services,
            level=PadesLevel.B_LT,
        )


@pytest.mark.anyio
async def test_missing_revocation_data_is_a_hard_failure(pki: DevPki, sample_pdf: bytes) -> None:
    illusionist = AsyncIllusionist(pki.arch)
    async with illusionist.serving_session(app=tsa_only_app(pki)) as session:
        svc = SigningServices(
            trust=pki.trust, http_session=session, tsa_url=pki.tsa_url, fetch_timeout=2
        )
        with pytest.raises(RevocationUnavailableError) as caught:
            await sign_pdf(
                pdf=sample_pdf,
                key=InMemoryKey(pki.user_key(LEADER)),
                signer_cert=pki.user_cert(LEADER),
                chain=pki.chain,
                services=svc,
                level=PadesLevel.B_LT,
            )
    assert "thu hồi" in caught.value.message_vi


@pytest.mark.anyio
async def test_verify_reports_tampering(
    pki: DevPki, services: SigningServices, sample_pdf: bytes
) -> None:
    signed = await sign_pdf(
        pdf=sample_pdf,
        key=InMemoryKey(pki.user_key(LEADER)),
        signer_cert=pki.user_cert(LEADER),
        chain=pki.chain,
        services=services,
        level=PadesLevel.B_T,
    )
    index = signed.index(b"/OneColumn")  # the signed catalogue's page layout
    tampered = signed[:index] + b"/TwoColumn" + signed[index + 10 :]
    report = await verify_pdf(pdf=tampered, trust=pki.trust, http_session=services.http_session)
    assert not report.ok and not report.signatures[0].intact
    assert "KHÔNG hợp lệ" in report.signatures[0].summary_vi
    unsigned = await verify_pdf(pdf=sample_pdf, trust=pki.trust)
    assert not unsigned.ok and unsigned.signatures == ()


@pytest.mark.anyio
async def test_verify_with_foreign_trust_root_is_not_trusted(
    pki: DevPki,
    services: SigningServices,
    sample_pdf: bytes,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from signing import generate_dev_pki

    other = generate_dev_pki(directory=tmp_path_factory.mktemp("other"), users=[])
    signed = await sign_pdf(
        pdf=sample_pdf,
        key=InMemoryKey(pki.user_key(LEADER)),
        signer_cert=pki.user_cert(LEADER),
        chain=pki.chain,
        services=services,
        level=PadesLevel.B_LT,
    )
    report = await verify_pdf(pdf=signed, trust=other.trust, http_session=services.http_session)
    sig = report.signatures[0]
    assert sig.intact and sig.valid and not sig.trusted and not report.ok
