"""On receipt, the digital signatures of an incoming PDF are checked and the result is kept with
the document (Decree 30: check authenticity and integrity)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.documents.verification import SignatureChecker, load_trust
from signing import (
    InMemoryKey,
    PadesLevel,
    generate_dev_pki,
    make_sample_pdf,
    serve_dev_services,
    sign_pdf,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def signed_pdf(tmp_path: Path) -> AsyncIterator[tuple[bytes, Path]]:
    pki = generate_dev_pki(directory=tmp_path / "pki", users=[("stc", "Sở Tài chính")])
    async with serve_dev_services(pki=pki) as services:
        signed = await sign_pdf(
            pdf=make_sample_pdf(pages=1),
            key=InMemoryKey(pki.user_key("stc")),
            signer_cert=pki.user_cert("stc"),
            chain=pki.chain,
            services=services,
            level=PadesLevel.B_LT,
        )
    yield signed, tmp_path / "pki"


async def test_a_signed_pdf_is_reported_valid_with_its_signer(
    signed_pdf: tuple[bytes, Path],
) -> None:
    pdf, pki_dir = signed_pdf
    checker = SignatureChecker(load_trust(roots_file="", dev_pki_dir=pki_dir))
    report = await checker.check(pdf, has_signatures=True)
    assert report["status"] == "valid", report
    signatures = report["signatures"]
    assert isinstance(signatures, list) and signatures[0]["signer"] == "Sở Tài chính"


async def test_a_tampered_pdf_is_reported_invalid(signed_pdf: tuple[bytes, Path]) -> None:
    pdf, pki_dir = signed_pdf
    tampered = bytearray(pdf)
    at = tampered.index(b"/OneColumn")  # the signed catalogue's page layout
    tampered[at : at + 10] = b"/TwoColumn"
    checker = SignatureChecker(load_trust(roots_file="", dev_pki_dir=pki_dir))
    report = await checker.check(bytes(tampered), has_signatures=True)
    assert report["status"] == "invalid"
    assert "không" in str(report["summary_vi"]).lower()


async def test_roots_from_a_configured_bundle(
    signed_pdf: tuple[bytes, Path], tmp_path: Path
) -> None:
    pdf, pki_dir = signed_pdf
    other = generate_dev_pki(directory=tmp_path / "other", users=[])
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(_pem(other.root_cert.dump()))
    checker = SignatureChecker(load_trust(roots_file=str(bundle), dev_pki_dir=pki_dir))
    report = await checker.check(pdf, has_signatures=True)
    # Signed under a root we were not told to trust: not proven invalid, not valid either
    # (EN 319 102-1: INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND).
    assert report["status"] == "indeterminate"
    assert [s["reason"] for s in report["signatures"]] == ["untrusted"]  # type: ignore[attr-defined]


async def test_unsigned_and_unconfigured() -> None:
    assert await SignatureChecker(None).check(b"%PDF", has_signatures=False) == {
        "status": "unsigned"
    }
    unconfigured = await SignatureChecker(None).check(b"%PDF", has_signatures=True)
    assert unconfigured["status"] == "not_verified"


def _pem(der: bytes) -> bytes:
    import base64

    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    ).encode()
