"""Untrusted input: every bad PDF becomes a specific SigningError, never a crash.

The corpus is generated here by code."""

from __future__ import annotations

import io
import re

import pytest
from conftest import CLERK, LEADER
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodeLimits, StreamDecodeLimits
from pyhanko.pdf_utils.writer import PdfFileWriter

from signing import (
    BadPdfError,
    DecodeLimitError,
    DevPki,
    EncryptedPdfError,
    InMemoryKey,
    PadesLevel,
    PdfStructureError,
    SigningError,
    SigningServices,
    make_sample_pdf,
    prepare_signature,
    sign_pdf,
    verify_pdf,
)


def _hybrid_xref_pdf() -> bytes:
    out = bytearray(b"%PDF-1.5\n")
    offsets = []
    for body in (
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (len(offsets), body)
    xref_stm = len(out)
    row = b"\x01" + xref_stm.to_bytes(2, "big") + b"\x00"
    out += (
        b"4 0 obj\n<< /Type /XRef /Size 5 /W [1 2 1] /Index [4 1] /Length 4 >>\nstream\n"
        + row
        + b"\nendstream\nendobj\n"
    )
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n"
    for off in [*offsets, xref_stm]:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size 5 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        xref_stm,
        xref,
    )
    return bytes(out)


def _encrypted_pdf() -> bytes:
    from pyhanko.pdf_utils.reader import PdfFileReader

    writer = PdfFileWriter()
    reader = PdfFileReader(io.BytesIO(make_sample_pdf(pages=1)))
    writer.import_page_as_xobject(reader)  # some content
    writer.insert_page(
        generic.DictionaryObject({generic.pdf_name("/Type"): generic.pdf_name("/Page")})
    )
    writer.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _broken_xref(pdf: bytes) -> bytes:
    start = pdf.rindex(b"startxref")
    return pdf[:start] + b"startxref\n17\n%%EOF\n"


def _garbled_objects(pdf: bytes) -> bytes:
    found = re.search(rb"/Pages \d+ 0 R", pdf)
    assert found is not None
    return pdf[: found.start()] + b"/Pages 99 9 R" + pdf[found.end() :]


SAMPLE = make_sample_pdf(pages=1)
CORPUS: dict[str, tuple[bytes, type[SigningError]]] = {
    "empty": (b"", BadPdfError),
    "not a pdf": (b"GIF89a this is not a PDF at all" * 10, BadPdfError),
    "truncated": (SAMPLE[: len(SAMPLE) // 2], BadPdfError),
    "broken startxref": (_broken_xref(SAMPLE), BadPdfError),
    "dangling page tree": (_garbled_objects(SAMPLE), BadPdfError),
    "hybrid xref": (_hybrid_xref_pdf(), PdfStructureError),
    "encrypted": (_encrypted_pdf(), EncryptedPdfError),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", sorted(CORPUS))
async def test_bad_pdfs_become_specific_errors(case: str, pki: DevPki) -> None:
    data, expected = CORPUS[case]
    with pytest.raises(expected) as caught:
        await prepare_signature(pdf=data, signer_cert=pki.user_cert(LEADER), chain=pki.chain)
    assert caught.value.message_vi and caught.value.message_en
    with pytest.raises(expected):
        await verify_pdf(pdf=data, trust=pki.trust)


def test_hybrid_sample_is_readable_by_a_lenient_reader() -> None:
    # Guard: the hybrid case must fail for being hybrid, not for being malformed.
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(_hybrid_xref_pdf()), strict=True)
    assert reader.xrefs.hybrid_xrefs_present
    assert reader.root["/Pages"]["/Count"] == 1


@pytest.mark.anyio
async def test_decode_limits_are_enforced(pki: DevPki) -> None:
    writer = PdfFileWriter(stream_xrefs=True)
    writer.insert_page(
        generic.DictionaryObject({generic.pdf_name("/Type"): generic.pdf_name("/Page")})
    )
    out = io.BytesIO()
    writer.write(out)
    tiny = DecodeLimits(per_stream=StreamDecodeLimits(max_ratio=None, max_output_size=8))
    with pytest.raises(DecodeLimitError) as caught:
        await prepare_signature(
            pdf=out.getvalue(), signer_cert=pki.user_cert(LEADER), decode_limits=tiny
        )
    assert "giới hạn" in caught.value.message_vi
    with pytest.raises(DecodeLimitError):
        await verify_pdf(pdf=out.getvalue(), trust=pki.trust, decode_limits=tiny)
    # the same document is fine under the default limits
    prepared = await prepare_signature(pdf=out.getvalue(), signer_cert=pki.user_cert(LEADER))
    assert prepared.dtbs


@pytest.mark.anyio
async def test_existing_signature_stays_valid(
    pki: DevPki, services: SigningServices, sample_pdf: bytes
) -> None:
    first = await sign_pdf(
        pdf=sample_pdf,
        key=InMemoryKey(pki.user_key(CLERK)),
        signer_cert=pki.user_cert(CLERK),
        chain=pki.chain,
        services=services,
        level=PadesLevel.B_LT,
    )
    second = await sign_pdf(
        pdf=first,
        key=InMemoryKey(pki.user_key(LEADER)),
        signer_cert=pki.user_cert(LEADER),
        chain=pki.chain,
        services=services,
        level=PadesLevel.B_LT,
    )
    assert second.startswith(first)  # incremental update only
    report = await verify_pdf(pdf=second, trust=pki.trust, http_session=services.http_session)
    assert report.ok and len(report.signatures) == 2, report.summary_en
    first_sig = report.signatures[0]
    assert first_sig.intact and first_sig.modification_level in {"LTA_UPDATES", "FORM_FILLING"}
    # the filled field cannot be signed again
    with pytest.raises(SigningError):
        await prepare_signature(
            pdf=second,
            signer_cert=pki.user_cert(LEADER),
            field_name=report.signatures[0].field_name,
        )
